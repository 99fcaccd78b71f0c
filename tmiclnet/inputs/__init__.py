"""What a fold reads: splits, features, tensors and label permutations, assembled once, the same
for training, evaluation and the studies."""
