//! IPv4 subnets for the lab: node addresses, the host's address, the guard route.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network such as `10.77.0.0/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    base: u32,
    prefix: u8,
}

impl Subnet {
    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        }
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base)
    }

    /// Usable addresses (without network and broadcast).
    pub fn capacity(&self) -> u32 {
        (1u32 << (32 - self.prefix)).saturating_sub(2)
    }

    /// The address of node `i` (0-based): `.1`, `.2`, ...
    pub fn node_addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1 + i as u32)
    }

    /// The host's address on the lab bridge: the last usable address (`.254` in a /24).
    pub fn host_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + (1u32 << (32 - self.prefix)) - 2)
    }

    /// The /16 around the subnet, routed `unreachable` while a lab is up.
    pub fn guard(&self) -> Subnet {
        Subnet {
            base: self.base & Self::mask(16),
            prefix: 16,
        }
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & Self::mask(self.prefix) == self.base
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        let p = self.prefix.min(other.prefix);
        self.base & Self::mask(p) == other.base & Self::mask(p)
    }

    /// Private ranges only (RFC 1918): a lab must never shadow a public address.
    pub fn is_private(&self) -> bool {
        let net = |s: &str| s.parse::<Subnet>().unwrap();
        [
            net("10.0.0.0/8"),
            net("172.16.0.0/12"),
            net("192.168.0.0/16"),
        ]
        .iter()
        .any(|r| r.prefix <= self.prefix && r.overlaps(self))
    }
}

impl FromStr for Subnet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (
                a,
                p.parse::<u8>()
                    .map_err(|_| format!("{s:?}: bad prefix length"))?,
            ),
            None => (s, 32),
        };
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{s:?}: not an IPv4 network like 10.77.0.0/24"))?;
        if prefix > 32 {
            return Err(format!("{s:?}: prefix length above 32"));
        }
        Ok(Subnet {
            base: u32::from(addr) & Self::mask(prefix),
            prefix,
        })
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let s: Subnet = "10.77.0.0/24".parse().unwrap();
        assert_eq!(s.node_addr(0).to_string(), "10.77.0.1");
        assert_eq!(s.host_addr().to_string(), "10.77.0.254");
        assert_eq!(s.guard().to_string(), "10.77.0.0/16");
        assert_eq!(s.capacity(), 254);
        assert!(s.is_private());
        assert!(!"8.8.8.0/24".parse::<Subnet>().unwrap().is_private());
        assert!(
            "10.77.3.0/24"
                .parse::<Subnet>()
                .unwrap()
                .overlaps(&s.guard())
        );
        assert!(!"10.77.3.0/24".parse::<Subnet>().unwrap().overlaps(&s));
        assert!("10.0.0.0/8".parse::<Subnet>().unwrap().overlaps(&s));
        assert!("nope".parse::<Subnet>().is_err());
    }
}
