"""When does fusion help? Three regimes of what the clinical note reveals, on the controlled
cohort, each predicted from the oracle before any training, then measured.

Each regime rewrites only the notes' liver panel (`regimes`): labels, CT volumes and radiomics
stay as built. The image (CT and the radiomics measured on it) is one modality here, since both
see both image factors (`tmiclnet.data.oracle`). Per regime and (repeat, fold) of the training
page's repeated folds, the text network (the catalogue's `text_only`, on the regime's frozen note
tokens) is trained with the training page's jobs (`training`); the image model, the positive
controls on the panel's true values and the late-fusion head are cheap logistic regressions
fitted on the spot (`heads`). `tables` turns the per-fold AUCs into each regime's fusion gain
with its corrected interval and says what it shows; `figures` draws them. A regime's notes are
keyed by their content, so a change of what a regime writes retrains it; tables and figures are
in no key.
"""
