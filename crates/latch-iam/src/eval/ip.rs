//! IP addresses and CIDR blocks for `IpAddress` / `NotIpAddress` (RFC 4632
//! v4 and RFC 4291 v6 notation; a bare address is a single-host block).

use std::net::IpAddr;

/// A CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The block as a pool stores it: version, prefix, then the address.
    pub(crate) fn encode(&self) -> [u8; 20] {
        let mut r = [0u8; 20];
        r[1] = self.prefix;
        match self.addr {
            IpAddr::V4(a) => {
                r[0] = 4;
                crate::compile::codec::put(&mut r, 4, &a.octets());
            }
            IpAddr::V6(a) => {
                r[0] = 6;
                crate::compile::codec::put(&mut r, 4, &a.octets());
            }
        }
        r
    }

    /// Reads a block written by [`Self::encode`].
    pub(crate) fn decode(r: &[u8; 20]) -> Self {
        let addr = match r[0] {
            4 => {
                let b = crate::compile::codec::u32_at(r, 4).to_le_bytes();
                IpAddr::from(b)
            }
            _ => {
                let mut b = [0u8; 16];
                if let Some(s) = r.get(4..20) {
                    b.copy_from_slice(s);
                }
                IpAddr::from(b)
            }
        };
        Self { addr, prefix: r[1] }
    }

    /// Parses `addr/prefix` or a bare address.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses a request's IP value (an address, optionally written `/32`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    match s.split_once('/') {
        Some((a, _)) => a.parse().ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains() {
        for (cidr, ip, want) in [
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.1", "10.0.0.1", true),
            ("10.0.0.1/32", "10.0.0.2", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("2001:db8::/32", "2001:db8:1::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "::1", true),
            ("10.0.0.0/8", "::ffff:10.0.0.1", false),
            ("2001:db8::/32", "10.0.0.1", false),
        ] {
            let c = Cidr::parse(cidr).unwrap();
            assert_eq!(c.contains(parse_ip(ip).unwrap()), want, "{cidr} {ip}");
        }
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "::/129", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
