//! The CAS 3.0 server over HTTP (PROTOCOLS §4): registering CAS services, and (in their own
//! modules) the flows a CAS client drives.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::pages::Browser;

mod cross;
mod django;
mod flows;
mod python_cas;
mod registration;
mod slo;

/// A service URL rule of the kind CAS clients send as `service`.
pub(crate) const SERVICE: &str = "https://app.example/cas/*";
