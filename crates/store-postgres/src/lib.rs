//! PostgreSQL adapter of the storage port.
