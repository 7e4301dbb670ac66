//! Background work. Each worker that must run once across instances holds a lease.

pub mod notifications;
