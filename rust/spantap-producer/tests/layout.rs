//! The crate's mirrors against what a C compiler makes of spantap_ring.h and spantap_filter.h: a
//! small C program prints offsetof and sizeof of every field of every shared struct, and each
//! must equal the crate's `offset_of!` / `size_of`. Also checks every constant build.rs took from
//! the headers (macros and enumerators) against the same compiler's view of them.

mod common;

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use spantap_producer::abi::{self, ProgramTable, Record, RingHeader, Rule, RuleTable};
use spantap_producer::filter::{self, Insn};

const STRUCTS: [(&str, &[&str]); 6] = [
    ("spantap_ring_header", &["magic", "version", "header_size", "slot_count", "slot_size", "snap_length", "rule_capacity", "pad0",
        "producer_index", "mirrored_packets", "mirrored_bytes", "drops_queue_full", "drops_no_frame", "mirror_once_suppressed",
        "drops_rate_limited", "filter_rejected", "rules_disabled", "pad1", "consumer_index", "need_wakeup", "reserved1", "drops_no_binding", "pad2"]),
    ("spantap_rule", &["ifindex", "direction", "filter", "output_id", "rate", "snap_length", "generation", "vlan_id", "run_length", "max_packets_per_second"]),
    ("spantap_rule_table", &["generation", "rule_count", "flags", "pad", "rules"]),
    ("spantap_program_table", &["program_count", "reserved", "pad", "lengths", "programs"]),
    ("spantap_filter_insn", &["code", "jt", "jf", "k"]),
    ("spantap_record", &["captured_length", "original_length", "ifindex", "output_id", "timestamp_ns", "direction", "reserved"]),
];

/// The probe's findings, compiled and run once for both tests.
fn c_layout() -> &'static BTreeMap<String, u64> {
    static LAYOUT: std::sync::OnceLock<BTreeMap<String, u64>> = std::sync::OnceLock::new();
    LAYOUT.get_or_init(probe)
}

/// Compiles and runs the probe: "struct.field offset", "struct.field.size size", "struct size"
/// and "MACRO value" lines.
fn probe() -> BTreeMap<String, u64> {
    let source = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("layout_probe.c");
    let mut c = String::from("#include <stddef.h>\n#include <stdio.h>\n#include \"spantap_session.h\"\nint main(void) {\n");
    for (name, fields) in STRUCTS {
        for field in fields {
            c += &format!(
                "    printf(\"{name}.{field} %zu\\n{name}.{field}.size %zu\\n\", offsetof(struct {name}, {field}), sizeof(((struct {name} *)0)->{field}));\n"
            );
        }
        c += &format!("    printf(\"{name} %zu\\n\", sizeof(struct {name}));\n");
    }
    // Every constant build.rs generated, macro or enumerator, under its own name.
    for (name, _) in abi::generated::ALL {
        c += &format!("    printf(\"{name} %llu\\n\", (unsigned long long)({name}));\n");
    }
    c += "    return 0;\n}\n";
    std::fs::write(&source, c).unwrap();
    let binary = common::cc::compile(&source, "layout_probe");
    let output = Command::new(&binary).output().unwrap();
    String::from_utf8(output.stdout).unwrap().lines().map(|line| {
        let (key, value) = line.rsplit_once(' ').unwrap();
        (key.to_string(), value.parse().unwrap())
    }).collect()
}

macro_rules! rust_layout {
    ($map:ident, $c:literal, $t:ty, [$($f:ident),*]) => {
        $(
            $map.insert(concat!($c, ".", stringify!($f)).to_string(), offset_of!($t, $f) as u64);
            $map.insert(concat!($c, ".", stringify!($f), ".size").to_string(), {
                // The size of a field, from a value never made: the type of the field's place.
                fn size_of_field<F>(_: fn(&$t) -> &F) -> usize { size_of::<F>() }
                size_of_field(|s: &$t| &s.$f) as u64
            });
        )*
        $map.insert($c.to_string(), size_of::<$t>() as u64);
    };
}

#[test]
fn every_field_sits_where_the_c_compiler_puts_it() {
    let c = c_layout();
    let mut rust = BTreeMap::new();
    rust_layout!(rust, "spantap_ring_header", RingHeader, [magic, version, header_size, slot_count, slot_size, snap_length, rule_capacity, pad0,
        producer_index, mirrored_packets, mirrored_bytes, drops_queue_full, drops_no_frame, mirror_once_suppressed, drops_rate_limited,
        filter_rejected, rules_disabled, pad1, consumer_index, need_wakeup, reserved1, drops_no_binding, pad2]);
    rust_layout!(rust, "spantap_rule", Rule, [ifindex, direction, filter, output_id, rate, snap_length, generation, vlan_id, run_length, max_packets_per_second]);
    rust_layout!(rust, "spantap_rule_table", RuleTable, [generation, rule_count, flags, pad, rules]);
    rust_layout!(rust, "spantap_program_table", ProgramTable, [program_count, reserved, pad, lengths, programs]);
    rust_layout!(rust, "spantap_filter_insn", Insn, [code, jt, jf, k]);
    rust_layout!(rust, "spantap_record", Record, [captured_length, original_length, ifindex, output_id, timestamp_ns, direction, reserved]);
    let fields: Vec<&String> = c.keys().filter(|k| k.starts_with("spantap_")).collect();
    assert_eq!(fields.len(), rust.len(), "the probe and the mirrors list the same fields");
    for key in fields {
        assert_eq!(rust.get(key), c.get(key), "{key}: Rust vs C");
    }
}

#[test]
fn the_generated_constants_are_the_headers() {
    let c = c_layout();
    for (name, value) in abi::generated::ALL {
        assert_eq!(Some(value), c.get(*name), "{name}: build.rs vs the C compiler");
    }
    // What build.rs must have found for the crate to mean anything (a parser that found nothing
    // would pass the loop above).
    let found = |name: &str| abi::generated::ALL.iter().any(|(n, _)| *n == name);
    for name in ["SPANTAP_RING_VERSION", "SPANTAP_RING_PROGRAMS_OFFSET", "SPANTAP_PROGRAM_CAPACITY", "SPANTAP_FILTER_MAX_INSNS",
        "SPANTAP_BPF_LD_IMM", "SPANTAP_BPF_TXA", "SPANTAP_FILTER_EMPTY", "SPANTAP_FILTER_LINUX_EXTENSION", "SPANTAP_OFFER_FILTERED",
        "SPANTAP_TRANSMITTED", "SPANTAP_SESSION_BACKOFF_MAX_MS"] {
        assert!(found(name), "build.rs did not find {name}");
    }
    let derived: [(&str, u64); 7] = [
        ("SPANTAP_RING_HEADER_SIZE", abi::HEADER_SIZE as u64), ("SPANTAP_RING_PROGRAMS_OFFSET", abi::PROGRAMS_OFFSET as u64),
        ("SPANTAP_PROGRAM_CAPACITY", abi::PROGRAM_CAPACITY as u64), ("SPANTAP_FILTER_MAX_INSNS", filter::MAX_INSNS as u64),
        ("SPANTAP_FILTER_MEMWORDS", filter::MEMWORDS as u64), ("SPANTAP_BPF_JSET_X", filter::code::JSET_X as u64),
        ("SPANTAP_FILTER_SCRATCH_UNWRITTEN", filter::Reason::ScratchUnwritten as u64),
    ];
    for (name, value) in derived {
        assert_eq!(Some(&value), c.get(name), "{name}");
    }
    assert_eq!(abi::RING_VERSION, 4, "this crate implements ring ABI 4; a new version needs its changes here");
}
