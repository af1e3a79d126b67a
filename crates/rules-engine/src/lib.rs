//! Automation rules. Filled by issue 7; nothing here yet.
