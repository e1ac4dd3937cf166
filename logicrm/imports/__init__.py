"""Bulk import and export of CSV files, keyed on external_ref."""
