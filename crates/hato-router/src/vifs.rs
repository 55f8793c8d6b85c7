//! VIF allocation for one table: the lowest free number for a new interface, kept for as long as
//! the interface keeps its VIF; the highest number stays free for the PIM register VIF (the kernel
//! allows [`VifId::MAX`] per table, the register VIF included).

use std::collections::BTreeMap;

use hato_core::{IfIndex, VifId};

/// VIF numbers available to interfaces: one fewer than the kernel's limit, for the register VIF.
pub const MAX_INTERFACE_VIFS: u16 = VifId::MAX - 1;

/// The VIF number of the PIM register VIF: the one [`VifTable::free_number`] never hands out.
pub const REGISTER_VIF: VifId = VifId(MAX_INTERFACE_VIFS);

/// A VIF bound to an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VifBinding {
    pub vif: VifId,
    pub ttl_threshold: u8,
}

/// The VIFs of one table.
#[derive(Debug, Clone, Default)]
pub struct VifTable {
    by_interface: BTreeMap<IfIndex, VifBinding>,
    /// Whether the register VIF ([`REGISTER_VIF`]) exists.
    register: bool,
}

impl VifTable {
    /// The lowest free number, if any.
    pub fn free_number(&self) -> Option<VifId> {
        (0..MAX_INTERFACE_VIFS)
            .map(VifId)
            .find(|candidate| !self.by_interface.values().any(|binding| binding.vif == *candidate))
    }

    pub fn bind(&mut self, ifindex: IfIndex, binding: VifBinding) {
        self.by_interface.insert(ifindex, binding);
    }

    pub fn unbind(&mut self, ifindex: IfIndex) -> Option<VifBinding> {
        self.by_interface.remove(&ifindex)
    }

    pub fn get(&self, ifindex: IfIndex) -> Option<VifBinding> {
        self.by_interface.get(&ifindex).copied()
    }

    pub fn vif_of(&self, ifindex: IfIndex) -> Option<VifId> {
        self.get(ifindex).map(|binding| binding.vif)
    }

    /// The interface bound to `vif`.
    pub fn interface_of(&self, vif: VifId) -> Option<IfIndex> {
        self.by_interface.iter().find(|(_, binding)| binding.vif == vif).map(|(ifindex, _)| *ifindex)
    }

    pub fn iter(&self) -> impl Iterator<Item = (IfIndex, VifBinding)> + '_ {
        self.by_interface.iter().map(|(ifindex, binding)| (*ifindex, *binding))
    }

    /// The register VIF, when it exists.
    pub fn register(&self) -> Option<VifId> {
        self.register.then_some(REGISTER_VIF)
    }

    pub fn set_register(&mut self, exists: bool) {
        self.register = exists;
    }

    pub fn len(&self) -> usize {
        self.by_interface.len()
    }
}
