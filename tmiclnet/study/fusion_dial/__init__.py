"""When does fusion help? A dial of what the clinical note reveals, on the controlled cohort.

Each setting rewrites only the notes of the synthetic cohort (`tmiclnet.data.synthetic.NoteDial`:
which latent factor the liver panel follows, and how strongly); labels, CT volumes and radiomics
stay as built (`settings`). So the costly parts come from what exists: the CT-only and
radiomics-only models are the training page's (same inputs, same keys, in the same results
folder: trained here only if missing), and their CT tokens feed every setting's fusion models.
Per setting only the text tokens and the three models that read the note (text-only, early
fusion, TMI-CLNet tokens) are made, with the training page's protocol (the same folds,
`tmiclnet.train.jobs.make_job` and `train_fold`), into a results folder of their own
(`<results>/fusion_dial/<setting>/`; `training`). `tables` summarises the per-fold AUCs and says
what they show; `figures` draws them. A setting's notes are keyed by their content (the text
key), so a change of what a setting writes retrains it; tables and figures are in no key.
"""
