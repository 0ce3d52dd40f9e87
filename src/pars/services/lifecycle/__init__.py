"""The record's life after arraignment reaching every copy (issue 12): sealing and expungement
withhold what is queued and destroy what is stored for re-reads; a correction re-projects what is
queued; sealed records are read only by the roles a setting names; recall notices reach every
partner that received the record (`recalls`, `attest`); the limited-access rule seals records
without a court order (`limited_access`: `pars lifecycle run` and the relay once a day)."""
