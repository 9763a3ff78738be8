//! One integration-test binary (each extra file in tests/ would be another slow link).

mod helpers;

mod accounts_flow;
