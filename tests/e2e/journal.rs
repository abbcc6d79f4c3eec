//! The incident journal end to end: recording, tampering, exports, crashes.
