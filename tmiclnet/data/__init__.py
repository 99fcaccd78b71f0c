"""The cohort: real PBC records and outcomes, CT rendered from a real template, clinical notes."""
