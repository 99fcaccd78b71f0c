"""Robustness of trained models at test time: a modality missing, noisier CT, another scanner.

Each fold's saved checkpoint is rebuilt and asked to predict its own test patients under a
perturbation, on every fold, and the AUC is compared with the unperturbed one (mean and sd over
folds). Nothing here trains: the modality-dropout variants the page compares are trained by
`tmiclnet.study.dropout_variants` before these modules read them.

- `conditions`: the perturbations. `drop_<modality>` marks the modality absent (`present`
  False), as if the patient had no CT / no radiomics / no note; `ct_noise_<HU>` adds Gaussian
  noise of that many HU to the CT volumes; `external` is another center's scanner
  (`tmiclnet.data.render.EXTERNAL`: noisier, thicker slices, softer in-plane), the cohort
  rendered again (`tmiclnet.evaluate.rescan`) with each fold's radiomics pipeline fitted on the
  fold's ORIGINAL training rows, as in training: the model meets the new center with the old
  center's scaling, as it would in the clinic.
- `missing`: which models are asked to predict without a modality: only those that learned to
  (the modality-dropout variants of the catalogue, `tmiclnet.models.catalogue.DROPOUT_VARIANTS`,
  and late fusion, which averages the unimodal models a patient has). A model trained with every
  modality always present would read an untrained stand-in (its random "missing" vector), and
  its row would measure that initialisation, not robustness.
- `scores`: the AUC of every (model, fold, condition), cached by the content of the code and the
  saved folds it read.
- `tables`: the page's tables and the sentences read off them.

When fusion models read cached CT tokens (the cpu profile), the fold's CT-only encoder turns the
perturbed volumes into new tokens first, exactly as during training.
"""
