//! The client's address: the connection's peer, or — only when that peer is a trusted reverse proxy — the nearest
//! untrusted address in `X-Forwarded-For`. Computed once per request by [`client_ip`] and read by the audit log and
//! the sign-in throttle through [`client_address`].

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// A block of addresses, e.g. `10.0.0.0/8` or `fd00::/8`; a bare address is its own block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = text.split_once('/').map_or((text, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or a block such as 10.0.0.0/8"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { network, prefix })
    }
}

impl Cidr {
    /// Whether `address` is in the block.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client of a request that came from `peer` with these `X-Forwarded-For` values: `peer` itself unless it is a
/// trusted proxy; then the right-most forwarded address that is not a trusted proxy (the left-most when all are).
/// Entries a client wrote itself sit left of those the proxies appended, so they are never believed.
pub fn resolve<'a>(peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|cidr| cidr.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> =
        forwarded_for.flat_map(|value| value.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
    hops.iter().rev().copied().find(|hop| !is_trusted(*hop)).or_else(|| hops.first().copied()).unwrap_or(peer)
}

/// The client's address, as [`client_ip`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Finds the client's address once for every request.
pub async fn client_ip(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let forwarded = request.headers().get_all("x-forwarded-for");
        let ip = resolve(peer.ip(), forwarded.iter().filter_map(|v| v.to_str().ok()), &state.config.trusted_proxies);
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

/// The client's address as text, as an extractor.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_address(parts)))
    }
}

/// The client's address as text, for the audit log; `unknown` when the server runs without connection info.
pub fn client_address(parts: &axum::http::request::Parts) -> String {
    client_ip_of(parts).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The client's address.
pub fn client_ip_of(parts: &axum::http::request::Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ClientIp>()
        .map(|ClientIp(ip)| *ip)
        .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn blocks_parse_and_match() {
        let block: Cidr = "10.1.0.0/16".parse().expect("valid");
        assert!(block.contains(ip("10.1.200.3")) && !block.contains(ip("10.2.0.1")));
        assert!(block.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped IPv6 is the IPv4 address");
        let v6: Cidr = "fd00::/8".parse().expect("valid");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("0.0.0.0/0".parse::<Cidr>().expect("valid").contains(ip("192.0.2.1")));
        assert_eq!("127.0.0.1".parse::<Cidr>().expect("valid"), Cidr { network: ip("127.0.0.1"), prefix: 32 });
        assert!("10.0.0.0/33".parse::<Cidr>().is_err() && "proxy".parse::<Cidr>().is_err());
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted = ["10.0.0.0/8".parse().expect("valid")];
        let header = ["198.51.100.9, 203.0.113.5, 10.0.0.3"];
        assert_eq!(resolve(ip("192.0.2.1"), header.into_iter(), &trusted), ip("192.0.2.1"), "untrusted peer");
        assert_eq!(resolve(ip("10.0.0.2"), header.into_iter(), &trusted), ip("203.0.113.5"), "right-most untrusted");
        assert_eq!(resolve(ip("10.0.0.2"), ["garbage"].into_iter(), &trusted), ip("10.0.0.2"), "nothing usable");
        assert_eq!(resolve(ip("10.0.0.2"), ["10.0.0.7"].into_iter(), &trusted), ip("10.0.0.7"), "all trusted");
    }
}
