//! The BSD/XNU interface media word (`SIOCGIFMEDIA` / `SIOCGIFXMEDIA`) decoded into link speed and
//! duplex. Pure code, compiled and tested on every OS; only macOS asks the kernel for the word.
//!
//! Every constant is XNU's `bsd/net/if_media.h` (xnu-10002 and later, which carry the extended Ethernet
//! subtypes and `IFM_EEE`). The word's bits: 0-4 subtype, 5-7 network type, 8-15 type options,
//! 16-19 extended subtype bits, 20-27 shared options, 28-31 instance.

/// `IFM_ETHER`: the network type of Ethernet media.
pub const IFM_ETHER: u32 = 0x0000_0020;
/// `IFM_IEEE80211`: the network type of Wi-Fi media.
pub const IFM_IEEE80211: u32 = 0x0000_0080;
/// `IFM_NMASK`: network type bits.
pub const IFM_NMASK: u32 = 0x0000_00e0;
/// `IFM_TMASK_COMPAT`: the low subtype bits every binary sees.
pub const IFM_TMASK_COMPAT: u32 = 0x0000_001f;
/// `IFM_TMASK_EXT`: the extended subtype bits (subtypes 32 and above).
pub const IFM_TMASK_EXT: u32 = 0x000f_0000;
/// `IFM_TMASK_EXT_SHIFT`: how far `IFM_X_SUBTYPE` moves bits 5-8 of a subtype number up.
pub const IFM_TMASK_EXT_SHIFT: u32 = 11;
/// `IFM_FDX`: full duplex.
pub const IFM_FDX: u32 = 0x0010_0000;
/// `IFM_HDX`: half duplex.
pub const IFM_HDX: u32 = 0x0020_0000;
/// `IFM_FLOW`: hardware flow control.
pub const IFM_FLOW: u32 = 0x0040_0000;
/// `IFM_EEE`: energy-efficient Ethernet.
pub const IFM_EEE: u32 = 0x0080_0000;
/// `IFM_AVALID` (status word): the active bit is valid.
pub const IFM_AVALID: u32 = 0x0000_0001;
/// `IFM_ACTIVE` (status word): the interface is attached to a working network.
pub const IFM_ACTIVE: u32 = 0x0000_0002;

/// `IFM_AUTO`, `IFM_MANUAL`, `IFM_NONE`: shared subtypes that name no speed.
pub const IFM_AUTO: u32 = 0;
pub const IFM_NONE: u32 = 2;

/// `IFM_X_SUBTYPE(x)`: the media-word bits of subtype number `x` (32 and above use the extended bits).
pub const fn ifm_x(x: u32) -> u32 {
    (x & IFM_TMASK_COMPAT) | ((x & (IFM_TMASK_EXT >> IFM_TMASK_EXT_SHIFT)) << IFM_TMASK_EXT_SHIFT)
}

/// `IFM_SUBTYPE(word)` turned back into the subtype number of if_media.h's table (0-127).
pub fn subtype_number(word: u32) -> u32 {
    (word & IFM_TMASK_COMPAT) | ((word & IFM_TMASK_EXT) >> IFM_TMASK_EXT_SHIFT)
}

/// Ethernet subtypes by number, with their speed in Mbit/s (if_media.h's `IFM_*` name in the comment).
/// 31 (`IFM_OTHER`) and numbers missing here have no known speed.
const ETHERNET_SPEEDS: &[(u32, u32)] = &[
    (3, 10),      // IFM_10_T       10baseT/UTP
    (4, 10),      // IFM_10_2       10base2/BNC
    (5, 10),      // IFM_10_5       10base5/AUI
    (6, 100),     // IFM_100_TX     100baseTX
    (7, 100),     // IFM_100_FX
    (8, 100),     // IFM_100_T4
    (9, 100),     // IFM_100_VG
    (10, 100),    // IFM_100_T2
    (11, 1000),   // IFM_1000_SX
    (12, 10),     // IFM_10_STP
    (13, 10),     // IFM_10_FL
    (14, 1000),   // IFM_1000_LX
    (15, 1000),   // IFM_1000_CX
    (16, 1000),   // IFM_1000_T     1000baseT (the Mac Studio's port at 1 GbE)
    (17, 1),      // IFM_HPNA_1
    (18, 10000),  // IFM_10G_SR     10Gbase-SR (SFP+ fibre)
    (19, 10000),  // IFM_10G_LR
    (20, 10000),  // IFM_10G_CX4
    (21, 10000),  // IFM_10G_T      10Gbase-T (the Mac Studio's 10GbE port)
    (22, 2500),   // IFM_2500_T     2500Base-T
    (23, 5000),   // IFM_5000_T     5000Base-T
    (24, 1000),   // IFM_1000_CX_SGMII
    (25, 1000),   // IFM_1000_KX
    (26, 10000),  // IFM_10G_KX4
    (27, 10000),  // IFM_10G_KR
    (28, 10000),  // IFM_10G_CR1
    (29, 10000),  // IFM_10G_ER
    (30, 20000),  // IFM_20G_KR2
    (32, 2500),   // IFM_2500_SX
    (33, 10000),  // IFM_10G_TWINAX (SFP+ direct-attach copper)
    (34, 10000),  // IFM_10G_TWINAX_LONG
    (35, 10000),  // IFM_10G_LRM
    (36, 2500),   // IFM_2500_KX
    (37, 40000),  // IFM_40G_CR4
    (38, 40000),  // IFM_40G_SR4
    (39, 50000),  // IFM_50G_PCIE
    (40, 25000),  // IFM_25G_PCIE
    (41, 1000),   // IFM_1000_SGMII
    (42, 10000),  // IFM_10G_SFI    10GBase-SFI (SFP+ adapters)
    (43, 40000),  // IFM_40G_XLPPI
    (44, 40000),  // IFM_40G_LR4
    (45, 40000),  // IFM_40G_KR4
    (47, 100000), // IFM_100G_CR4
    (48, 100000), // IFM_100G_SR4
    (49, 100000), // IFM_100G_KR4
    (50, 100000), // IFM_100G_LR4
    (51, 56000),  // IFM_56G_R4
    (52, 100),    // IFM_100_T
    (53, 25000),  // IFM_25G_CR
    (54, 25000),  // IFM_25G_KR
    (55, 25000),  // IFM_25G_SR
    (56, 50000),  // IFM_50G_CR2
    (57, 50000),  // IFM_50G_KR2
    (58, 25000),  // IFM_25G_LR
    (59, 10000),  // IFM_10G_AOC
    (60, 25000),  // IFM_25G_ACC
    (61, 25000),  // IFM_25G_AOC
    (62, 100),    // IFM_100_SGMII
    (63, 2500),   // IFM_2500_X
    (64, 5000),   // IFM_5000_KR
    (65, 25000),  // IFM_25G_T
    (66, 25000),  // IFM_25G_CR_S
    (67, 25000),  // IFM_25G_CR1
    (68, 25000),  // IFM_25G_KR_S
    (69, 5000),   // IFM_5000_KR_S
    (70, 5000),   // IFM_5000_KR1
    (71, 25000),  // IFM_25G_AUI
    (72, 40000),  // IFM_40G_XLAUI
    (73, 40000),  // IFM_40G_XLAUI_AC
    (74, 40000),  // IFM_40G_ER4
    (75, 50000),  // IFM_50G_SR2
    (76, 50000),  // IFM_50G_LR2
    (77, 50000),  // IFM_50G_LAUI2_AC
    (78, 50000),  // IFM_50G_LAUI2
    (79, 50000),  // IFM_50G_AUI2_AC
    (80, 50000),  // IFM_50G_AUI2
    (81, 50000),  // IFM_50G_CP
    (82, 50000),  // IFM_50G_SR
    (83, 50000),  // IFM_50G_LR
    (84, 50000),  // IFM_50G_FR
    (85, 50000),  // IFM_50G_KR_PAM4
    (86, 25000),  // IFM_25G_KR1
    (87, 50000),  // IFM_50G_AUI1_AC
    (88, 50000),  // IFM_50G_AUI1
];

/// Speed of an Ethernet subtype number, Mbit/s; 100G and faster by the range if_media.h gives them.
fn ethernet_speed(subtype: u32) -> Option<u32> {
    if let Some(&(_, s)) = ETHERNET_SPEEDS.iter().find(|(n, _)| *n == subtype) {
        return Some(s);
    }
    match subtype {
        89..=102 => Some(100_000),  // IFM_100G_CAUI4_AC .. IFM_100G_AUI2
        103..=112 => Some(200_000), // IFM_200G_CR4_PAM4 .. IFM_200G_AUI8
        113..=117 => Some(400_000), // IFM_400G_FR8 .. IFM_400G_AUI8
        _ => None,
    }
}

/// What the media word says about the link; every field None where it says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaLink {
    pub speed_mbps: Option<u32>,
    /// "full" or "half".
    pub duplex: Option<&'static str>,
    /// The link is down (status valid and not active).
    pub down: bool,
}

/// Decodes `ifm_active` and `ifm_status` of an `ifmediareq`. A link that is down, not Ethernet, still on
/// autoselect, or of a subtype this table does not know has no speed: unknown, never a slow link.
pub fn decode(active: u32, status: u32) -> MediaLink {
    let down = status & IFM_AVALID != 0 && status & IFM_ACTIVE == 0;
    if down || active & IFM_NMASK != IFM_ETHER {
        return MediaLink {
            down,
            ..MediaLink::default()
        };
    }
    let duplex = if active & IFM_FDX != 0 {
        Some("full")
    } else if active & IFM_HDX != 0 {
        Some("half")
    } else {
        None
    };
    MediaLink {
        speed_mbps: ethernet_speed(subtype_number(active)),
        duplex,
        down,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: u32 = IFM_AVALID | IFM_ACTIVE;

    fn word(subtype: u32, options: u32) -> u32 {
        IFM_ETHER | ifm_x(subtype) | options
    }

    #[test]
    fn the_mac_studio_ports_and_adapters_decode_to_their_speeds() {
        let cases = [
            (3, 10),
            (6, 100),
            (16, 1000),
            (22, 2500),
            (23, 5000),
            (21, 10_000),
            (18, 10_000),
            (42, 10_000),
            (33, 10_000),
        ];
        for (subtype, mbps) in cases {
            let l = decode(word(subtype, IFM_FDX), UP);
            assert_eq!(l.speed_mbps, Some(mbps), "subtype {subtype}");
            assert_eq!(l.duplex, Some("full"), "subtype {subtype}");
            assert!(!l.down);
        }
    }

    #[test]
    fn ten_gigabit_is_ten_thousand_not_the_capped_baud_rate() {
        // 10Gbase-T <full-duplex,flow-control,energy-efficient-ethernet>, as a Mac Studio reports it.
        let active = IFM_ETHER | 21 | IFM_FDX | IFM_FLOW | IFM_EEE;
        assert_eq!(active, 0x00d0_0035);
        let l = decode(active, UP);
        assert_eq!((l.speed_mbps, l.duplex), (Some(10_000), Some("full")));
    }

    #[test]
    fn extended_subtypes_use_the_high_bits() {
        assert_eq!(ifm_x(32), 0x1_0000);
        assert_eq!(ifm_x(42), 0x1_000a);
        assert_eq!(subtype_number(IFM_ETHER | ifm_x(42) | IFM_FDX), 42);
        assert_eq!(decode(word(65, IFM_FDX), UP).speed_mbps, Some(25_000));
        assert_eq!(decode(word(100, IFM_FDX), UP).speed_mbps, Some(100_000));
        assert_eq!(decode(word(117, 0), UP).speed_mbps, Some(400_000));
    }

    #[test]
    fn half_duplex_and_unstated_duplex() {
        assert_eq!(decode(word(6, IFM_HDX), UP).duplex, Some("half"));
        assert_eq!(decode(word(16, 0), UP).duplex, None);
    }

    #[test]
    fn what_the_word_does_not_say_is_unknown() {
        // Down: status valid, not active.
        let down = decode(word(21, IFM_FDX), IFM_AVALID);
        assert_eq!((down.speed_mbps, down.duplex, down.down), (None, None, true));
        // Still autoselecting, none, IFM_OTHER, or a subtype not in the table.
        for subtype in [IFM_AUTO, IFM_NONE, 31, 46, 120] {
            assert_eq!(decode(word(subtype, IFM_FDX), UP).speed_mbps, None, "{subtype}");
        }
        // Wi-Fi media is not Ethernet: no speed from it.
        assert_eq!(decode(IFM_IEEE80211 | 7, UP).speed_mbps, None);
        // No status bits at all (a driver that does not report them): the subtype still counts.
        assert_eq!(decode(word(21, IFM_FDX), 0).speed_mbps, Some(10_000));
    }
}
