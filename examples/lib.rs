//! Runnable examples of embedding wadesk. See `examples/README.md`; run one with
//! `cargo run -p wadesk-examples --example NAME`.
