//! Macros for eventful. Use them through `eventful-core`, which re-exports them (feature
//! `derive`, on by default).
