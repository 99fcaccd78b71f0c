"""What a leaky protocol reports: the same models trained under our protocol and the released one.

The released TMI-CLNet code z-scores the radiomic features on every patient before the folds,
early-stops and picks the best epoch on the test fold (it has no validation split) and uses an
unstratified KFold. A `Protocol` is those three switches (`protocols`). The study runs the book's
own training path (`tmiclnet.train.schedule.train_folds`: the same jobs, keys, results store and
pooled schedule) with the switches applied to the folds, the splits and the scaler only
(`assembly`), so our protocol is exactly the one every other chapter uses. Each (protocol,
labels) pair has its own results folder and its own keys (`training`), and the CT-only model
whose tokens feed TMI-CLNet is trained again under every protocol's split: an encoder trained on
our folds has seen another split's test patients.

Every fold also leaves an audit: which patients the scaler was fitted on and which ones the
early-stopping criterion was computed on, so a table (`tables`, with the bootstrap intervals and
the prose read off them) and a test can show where the test fold leaked in; `figures` draws it.

One labelling is one draw: `replicates` runs the cheap model, with a control that has no
validation split and a fixed epoch count, on many permuted labellings (the protocols that read
labels) and on repeats of the real labels (every protocol; its tables in `store`), and `power`
turns them into each protocol's mean inflation over ours with an interval across them, for the
AUC, the accuracy and the F1.

The modules are cut where the keys are: `assembly` (and `replicates`, for the replicated study)
shapes every number and its code is in every key of the study; `tables`, `power`, `store` and
`figures` only read or write the predictions, so editing them retrains nothing.
"""
