//! Integration tests that mount rsipfs for real; see tests/.
