//! Seeds the cargo-fuzz corpora from the lab captures: every packet of every capture goes, whole or
//! as its payload, into the corpus of each target that reads it, and each capture file into the
//! `pcap` corpus. Upcall seeds are built from the captured packets as the kernel would wrap them.
//!
//! Usage: `cargo run -p hato-fuzz-oracle --example seed_corpus [CAPTURES_DIR [CORPUS_DIR]]`
//! (defaults: `testdata/captures` and `fuzz/corpus` of the workspace). Files are named by a hash of
//! their content, so running it twice adds nothing.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::{env, fs, io};

use hato_core::{Upcall, VifId};
use hato_fuzz_oracle::Target;
use hato_pcap::{read_all, Network};
use hato_wire::ip::{Ipv4Header, Ipv6Header, PROTO_ICMPV6, PROTO_IGMP, PROTO_PIM};
use hato_wire::upcall::{IgmpMsgRepr, Mrt6MsgRepr};
use hato_wire::{dvmrp, mtrace};

fn main() -> io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = env::args_os().skip(1);
    let captures = args.next().map_or_else(|| root.join("testdata/captures"), PathBuf::from);
    let corpus = args.next().map_or_else(|| root.join("fuzz/corpus"), PathBuf::from);
    let mut seeds = Seeds { corpus, added: 0 };
    let mut entries: Vec<_> = fs::read_dir(&captures)?.collect::<io::Result<_>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let data = fs::read(entry.path())?;
        let (frames, _) = read_all(&data);
        if frames.is_empty() {
            continue;
        }
        seeds.add(Target::Pcap, &data)?;
        for frame in frames {
            match frame.network() {
                Ok(Network::Ipv4(packet)) => seeds.ipv4(packet)?,
                Ok(Network::Ipv6(packet)) => seeds.ipv6(packet)?,
                _ => {}
            }
        }
    }
    println!("{} new seed files", seeds.added);
    Ok(())
}

struct Seeds {
    corpus: PathBuf,
    added: usize,
}

impl Seeds {
    fn add(&mut self, target: Target, data: &[u8]) -> io::Result<()> {
        let dir = self.corpus.join(target.name());
        fs::create_dir_all(&dir)?;
        let mut hasher = DefaultHasher::new();
        data.hash(&mut hasher);
        let path = dir.join(format!("seed-{:016x}", hasher.finish()));
        if !path.exists() {
            fs::write(path, data)?;
            self.added += 1;
        }
        Ok(())
    }

    fn ipv4(&mut self, packet: &[u8]) -> io::Result<()> {
        self.add(Target::Ip, packet)?;
        self.add(Target::Dissect, packet)?;
        let Ok((header, payload)) = Ipv4Header::parse(packet) else {
            return Ok(());
        };
        let group = header.dst;
        let whole = Upcall::WholePacket { vif: VifId(3), source: header.src, group, packet: packet.to_vec() };
        self.add(Target::Upcall, &IgmpMsgRepr::from_upcall(&whole).to_bytes())?;
        let no_cache = Upcall::NoCache { vif: VifId(1), source: header.src, group };
        self.add(Target::Upcall, &IgmpMsgRepr::from_upcall(&no_cache).to_bytes())?;
        match header.protocol {
            PROTO_IGMP => {
                self.add(Target::Igmp, payload)?;
                match payload.first().copied() {
                    Some(dvmrp::IGMP_TYPE_DVMRP) => self.add(Target::Dvmrp, payload)?,
                    Some(mtrace::IGMP_TYPE_MTRACE_QUERY | mtrace::IGMP_TYPE_MTRACE_RESPONSE) => {
                        self.add(Target::Mtrace, payload)?
                    }
                    _ => {}
                }
            }
            PROTO_PIM => self.add(Target::PimV4, payload)?,
            _ => {}
        }
        Ok(())
    }

    fn ipv6(&mut self, packet: &[u8]) -> io::Result<()> {
        self.add(Target::Ip, packet)?;
        self.add(Target::Dissect, packet)?;
        let Ok((header, payload)) = Ipv6Header::parse(packet) else {
            return Ok(());
        };
        let upcall = Upcall::WrongVifWholePacket {
            vif: VifId(2),
            source: header.src,
            group: header.dst,
            packet: packet.to_vec(),
        };
        self.add(Target::Upcall, &Mrt6MsgRepr::from_upcall(&upcall).to_bytes())?;
        match header.protocol {
            PROTO_ICMPV6 => self.add(Target::Mld, payload)?,
            PROTO_PIM => self.add(Target::PimV6, payload)?,
            _ => {}
        }
        Ok(())
    }
}
