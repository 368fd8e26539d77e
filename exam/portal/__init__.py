"""The web portal: log in, upload, follow jobs live, open results; operations for staff."""
