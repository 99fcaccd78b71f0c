"""The book itself: the papermill runner and its cache keys, the execution report, the built
site's page and link checks, and the tables of profiles and design that a page shows."""
