//! The SSH transport against a real OpenSSH sshd on loopback.
