//! Email senders behind `pb_domain::notify::EmailSender`.
#![forbid(unsafe_code)]

mod local;
mod sendgrid;
mod smtp;

pub use local::LocalOutbox;
pub use sendgrid::SendGridSender;
pub use smtp::SmtpSender;
