//! Network interfaces of the current network namespace, by name and index.

use super::error::LiveError;
use super::sys;

/// A network interface as the kernel names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceInfo {
    pub name: String,
    /// The interface index, which is what [`RawPacket::capture_point`](crate::source::RawPacket) holds.
    pub index: u32,
}

/// Every interface of the calling thread's network namespace, by index.
pub fn list() -> Result<Vec<InterfaceInfo>, LiveError> {
    let mut all: Vec<InterfaceInfo> = sys::interface_list()
        .map_err(|source| LiveError::Io { op: "if_nameindex", interface: "all interfaces".into(), source })?
        .into_iter()
        .map(|(index, name)| InterfaceInfo { name, index })
        .collect();
    all.sort_by_key(|i| i.index);
    Ok(all)
}

/// The interfaces named in `names` (in that order, duplicates removed), or every interface when
/// `names` is empty.
pub(super) fn resolve(names: &[String]) -> Result<Vec<InterfaceInfo>, LiveError> {
    select(list()?, names)
}

fn select(all: Vec<InterfaceInfo>, names: &[String]) -> Result<Vec<InterfaceInfo>, LiveError> {
    if names.is_empty() {
        return Ok(all);
    }
    let mut chosen: Vec<InterfaceInfo> = Vec::with_capacity(names.len());
    for name in names {
        if chosen.iter().any(|c| &c.name == name) {
            continue;
        }
        match all.iter().find(|i| &i.name == name) {
            Some(i) => chosen.push(i.clone()),
            None => {
                return Err(LiveError::NoSuchInterface {
                    name: name.clone(),
                    available: all.iter().map(|i| i.name.clone()).collect(),
                })
            }
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, index: u32) -> InterfaceInfo {
        InterfaceInfo { name: name.into(), index }
    }

    #[test]
    fn selects_by_name_in_order_without_duplicates() {
        let all = vec![iface("lo", 1), iface("eth0", 2), iface("veth1", 9)];
        let names: Vec<String> = ["veth1", "lo", "veth1"].map(String::from).to_vec();
        assert_eq!(select(all.clone(), &names).unwrap(), vec![iface("veth1", 9), iface("lo", 1)]);
        assert_eq!(select(all.clone(), &[]).unwrap(), all);
    }

    #[test]
    fn missing_interface_lists_the_available_ones() {
        let all = vec![iface("lo", 1), iface("eth0", 2)];
        let err = select(all, &["eth9".to_string()]).unwrap_err();
        assert!(matches!(&err, LiveError::NoSuchInterface { name, .. } if name == "eth9"));
        assert_eq!(
            err.to_string(),
            "no network interface named \"eth9\" in this network namespace; available: lo, eth0"
        );
    }

    #[test]
    fn lists_loopback() {
        let all = list().unwrap();
        assert!(all.iter().any(|i| i.name == "lo"), "{all:?}");
    }
}
