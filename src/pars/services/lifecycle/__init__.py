"""The record's life after arraignment reaching every copy (issue 12): sealing and expungement
withhold what is queued and destroy what is stored for re-reads; a correction re-projects what is
queued; sealed records are read only by the roles a setting names."""
