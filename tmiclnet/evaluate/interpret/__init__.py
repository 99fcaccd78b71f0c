"""Inside a trained TMI-CLNet: cross-modal attention, CT occlusion, radiomic families, words.

Every module here reads a `SavedFold` (the fold's test patients and saved weights); nothing is
trained. Computing and showing are kept apart, so a page's wording never touches a number:

- `attention`: in the token variant's TCAF each modality's vector queries the tokens of the other
  two; summing a query's attention over each modality's tokens says where it looked.
- `occlusion`: each block of the CT volume is replaced by the volume's mean and the change in
  P(death within 5 years) is recorded (Zeiler & Fergus, 2014): model-agnostic and exact, if coarse.
- `permutation`: the columns of one radiomic family are shuffled together across test patients
  (so within-family correlations survive) and the AUC drop is measured.
- `attributions`: integrated gradients (Sundararajan et al., 2017) from the training patients'
  mean text tokens to this note's, on what the model read (line tokens with their number
  channels, made from the frozen word-piece states exactly as in training), handed back to each
  word piece by the line pooling. The baseline is the average training note, not zeros: with a
  zero baseline (plain gradient x input) a number's attribution is its value times the gradient,
  so any albumin, low or high, "lowers" the risk when higher albumin does; from the mean, a
  below-average albumin raises it. Attributions sum to the change of the log-odds between the
  average note and this one.
- `views`: what the page shows of them: sentences read off the numbers, the strongest note lines,
  the note coloured by attribution.

Attention weights are not explanations (Jain & Wallace, 2019); the book shows both.
"""
