//! Service-level agreements. Filled by issue 6; nothing here yet.
