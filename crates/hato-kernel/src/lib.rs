//! The kernel boundary of hato: rtnetlink ([`netlink`]) and the IGMP / MLD / PIM protocol sockets
//! ([`socket`]).

pub mod netlink;
pub mod socket;
