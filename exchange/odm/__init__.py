"""CDISC ODM 1.3.2: the whole study as one Snapshot file (metadata, admin data, clinical data, audit,
signatures), streamed with constant memory and never holding identity data.

The modules, by concern:
- `metadata`: the MetaDataVersion as plain values, from the casebook's form catalogue (pure);
- `configuration`: this trial's configuration and each field's type, read for `metadata`;
- `admin_data`: accounts, sites and signature meanings;
- `clinical`: each patient's values, read a batch of patients at a time;
- `audit`: who last set each value (the audit trail, for `?audit=1`);
- `writer`: the XML, written incrementally with lxml;
- `document`: the parts put together on one database snapshot (`odm_document`).

This package module imports nothing, so that `metadata` stays pure (tests/test_pure_modules.py).
"""
