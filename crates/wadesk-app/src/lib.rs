//! Wiring: HTTP, jobs, configuration.
