// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI_ATTEST_TOKEN_INIT / CONTINUE through the real REC_ENTER path, with the simulated EL3
//! handing over TF-A's sample key and platform token: provisioning at boot, tokens collected
//! in chunks of every awkward size and verified here independently (ciborium, p384, sha2),
//! every error in the reference order, a pending host interrupt, an unpopulated buffer, two
//! RECs with sessions in progress at once, and a boot without attestation.

use attest::token::es384::STEPS;
use ciborium::Value;
use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use rmm::arch::Machine;
use rmm::arch::fake::FakeMachine;
use rmm::arch::fake::machine::{SAMPLE_PLATFORM_TOKEN, SAMPLE_REALM_KEY};
use rmm::arch::world::{RealmContext, RealmEntryConfig, RealmTrap, TrapKind};
use rmm::attestation::{self, ProvisionError};
use rmm_abi::el3::El3Status;
use rmm_abi::rmi::fid;
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::{Host, Shape, TestRealm, X4, status};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

const IMAGE_IPA: u64 = 0x1000;
/// The token buffer: a DATA granule.
const BUF_IPA: u64 = 0x2000;
/// RIPAS RAM, no DATA until the host populates it.
const UNPOPULATED_IPA: u64 = 0x3000;
/// Protected, RIPAS EMPTY.
const EMPTY_IPA: u64 = 0x8000;
/// The unprotected half of a 40-bit realm.
const UNPROTECTED: u64 = 1 << 39;

const SUCCESS: u64 = 0;
const ERROR_INPUT: u64 = 1;
const ERROR_STATE: u64 = 2;
const INCOMPLETE: u64 = 3;
const ERROR_UNKNOWN: u64 = 4;

/// The sample token's exact length with a SHA-256 realm (TF-RMM's is the same).
const TOKEN_LEN: usize = 2124;

const SMC: u64 = 0x17 << 26 | 1 << 25;

fn rpv_byte(i: usize) -> u8 {
    (i as u8).wrapping_mul(3) ^ 0xA5
}

fn challenge(seed: u8) -> [u64; 8] {
    core::array::from_fn(|i| u64::from_le_bytes([seed.wrapping_add(i as u8); 8]) ^ 0x0102_0304)
}

fn challenge_bytes(regs: &[u64; 8]) -> Vec<u8> {
    regs.iter().flat_map(|r| r.to_le_bytes()).collect()
}

/// A static platform-token buffer for one monitor (each test boots its own).
fn token_buffer() -> &'static mut [u8] {
    Box::leak(vec![0u8; 0x4000].into_boxed_slice())
}

/// What the realm does next.
#[derive(Clone, Debug)]
enum Call {
    /// An RSI call with x1.. = args.
    Rsi(u32, Vec<u64>),
    /// Exit to the host (an IRQ) so it can enter another REC.
    Pause,
}

/// What one call returned, as the realm saw it.
#[derive(Clone, Debug)]
struct Seen {
    x: [u64; 4],
    /// The token buffer page after the call.
    page: Vec<u8>,
}

#[derive(Default)]
struct Player {
    calls: VecDeque<Call>,
    /// PC of the SMC in flight, if one was issued, and the call.
    issued_at: Option<u64>,
    in_flight: Option<Call>,
    seen: Vec<Seen>,
    /// Times the realm had to re-execute an SMC the RMM did not complete.
    retried: usize,
    /// What the CONTINUEs an interrupt stopped returned (RSI_INCOMPLETE with nothing
    /// copied), each of which the realm issued again, as Linux's arm-cca-guest does.
    interrupted: Vec<[u64; 4]>,
}

impl Player {
    /// Issues `call` from `ctx`.
    fn issue(&mut self, call: Call, ctx: &mut RealmContext) -> RealmTrap {
        match &call {
            Call::Rsi(id, args) => {
                ctx.gprs.x[0] = u64::from(*id);
                ctx.gprs.x[1..=args.len()].copy_from_slice(args);
                self.issued_at = Some(ctx.gprs.pc);
                self.in_flight = Some(call);
                smc_trap()
            }
            Call::Pause => irq_trap(),
        }
    }
}

/// Whether `call` returning `x` is a CONTINUE an interrupt stopped: RSI_INCOMPLETE with
/// nothing copied although room was given.
fn interrupted(call: &Option<Call>, x: &[u64; 4]) -> bool {
    matches!(call, Some(Call::Rsi(id, args))
        if *id == rsi::ATTEST_TOKEN_CONTINUE && args[2] != 0 && x[0] == INCOMPLETE && x[1] == 0)
}

/// The simulated realm: each REC (by MPIDR) plays its own queue of calls.
struct Realm {
    players: Arc<Mutex<HashMap<u64, Player>>>,
}

impl Realm {
    fn install(machine: &FakeMachine, buf_pa: u64) -> Self {
        let players: Arc<Mutex<HashMap<u64, Player>>> = Arc::default();
        let shared = Arc::clone(&players);
        machine.set_realm(Box::new(
            move |m, config: &RealmEntryConfig, ctx: &mut RealmContext| {
                let mut all = shared.lock().unwrap();
                let p = all.entry(config.vmpidr & 0xFF_FFFF).or_default();
                if let Some(pc) = p.issued_at {
                    if ctx.gprs.pc == pc {
                        // The RMM exited without completing the SMC: execute it again.
                        p.retried += 1;
                        return smc_trap();
                    }
                    let x = [ctx.gprs.x[0], ctx.gprs.x[1], ctx.gprs.x[2], ctx.gprs.x[3]];
                    p.issued_at = None;
                    let call = p.in_flight.take();
                    if interrupted(&call, &x) {
                        // Call CONTINUE again.
                        p.interrupted.push(x);
                        return p.issue(call.expect("in flight"), ctx);
                    }
                    let mut page = vec![0u8; 4096];
                    m.realm_read(buf_pa, &mut page);
                    p.seen.push(Seen { x, page });
                }
                let call = p.calls.pop_front().unwrap_or(Call::Pause);
                p.issue(call, ctx)
            },
        ));
        Self { players }
    }

    fn push(&self, mpidr: u64, calls: impl IntoIterator<Item = Call>) {
        self.players
            .lock()
            .unwrap()
            .entry(mpidr)
            .or_default()
            .calls
            .extend(calls);
    }

    fn take_seen(&self, mpidr: u64) -> Vec<Seen> {
        std::mem::take(&mut self.players.lock().unwrap().entry(mpidr).or_default().seen)
    }

    fn interrupted(&self, mpidr: u64) -> Vec<[u64; 4]> {
        self.players
            .lock()
            .unwrap()
            .entry(mpidr)
            .or_default()
            .interrupted
            .clone()
    }

    fn retried(&self, mpidr: u64) -> usize {
        self.players
            .lock()
            .unwrap()
            .entry(mpidr)
            .or_default()
            .retried
    }
}

fn smc_trap() -> RealmTrap {
    RealmTrap {
        kind: TrapKind::Sync,
        esr: SMC,
        far: 0,
        hpfar: 0,
    }
}

fn irq_trap() -> RealmTrap {
    RealmTrap {
        kind: TrapKind::Irq,
        esr: 0,
        far: 0,
        hpfar: 0,
    }
}

fn init(regs: &[u64; 8]) -> Call {
    Call::Rsi(rsi::ATTEST_TOKEN_INIT, regs.to_vec())
}

fn cont(ipa: u64, offset: u64, size: u64) -> Call {
    Call::Rsi(rsi::ATTEST_TOKEN_CONTINUE, vec![ipa, offset, size])
}

/// A realm with RAM at [0x1000, 0x4000) (DATA at 0x1000 and 0x2000), `recs` runnable RECs
/// (MPIDR = index), one REM extended, activated; attestation provisioned unless `el3_fails`.
struct Rig {
    host: Host,
    realm: TestRealm,
    recs: Vec<(u64, u64)>,
    player: Realm,
}

impl Rig {
    fn new(recs: u64) -> Self {
        Self::with_el3(recs, |_| {})
    }

    fn with_el3(recs: u64, el3: impl FnOnce(&FakeMachine)) -> Self {
        let host = Host::new();
        el3(&host.rig.machine);
        let _ = attestation::provision_into(
            &host.rig.monitor.attestation,
            &host.rig.machine,
            token_buffer(),
        );
        let shape = Shape::default();
        let rd = host.must_delegated();
        let rtt_base = host.must_delegated_run(shape.num_roots);
        let mut params = Host::realm_params(&shape, rtt_base);
        params.rpv = core::array::from_fn(rpv_byte);
        assert_eq!(host.realm_create(rd, &params)[0], status::SUCCESS);
        let realm = TestRealm {
            rd,
            rtt_base,
            shape,
        };
        host.must_tables_to(&realm, 0, 3);
        assert_eq!(host.init_ripas(rd, IMAGE_IPA, 0x4000)[0], status::SUCCESS);
        let mut buf_pa = 0;
        for ipa in [IMAGE_IPA, BUF_IPA] {
            let data = host.must_delegated();
            let src = host.ns_page(&[0u8; 4096]);
            assert_eq!(host.data_create(rd, data, ipa, src, 0)[0], status::SUCCESS);
            buf_pa = data;
        }
        let recs = (0..recs)
            .map(|i| {
                let rec = host.must_delegated();
                let mut p = host.must_rec_params(i, true);
                p.pc = IMAGE_IPA;
                assert_eq!(host.rec_create(rd, rec, &p)[0], status::SUCCESS);
                (rec, host.ns_page(&[0u8; 4096]))
            })
            .collect();
        assert_eq!(host.realm_activate(rd)[0], status::SUCCESS);
        let player = Realm::install(&host.rig.machine, buf_pa);
        Self {
            host,
            realm,
            recs,
            player,
        }
    }

    fn machine(&self) -> &FakeMachine {
        &self.host.rig.machine
    }

    /// REC_ENTER of REC `i`; returns RMI x0.
    fn enter(&self, i: usize) -> u64 {
        let (rec, run) = self.recs[i];
        self.machine()
            .host_write(run, &[0u8; 4096])
            .expect("NS run page");
        self.host.call(fid::REC_ENTER, &[rec, run, 0, X4])[0]
    }

    /// Word at `offset` of REC `i`'s exit record.
    fn exit(&self, i: usize, offset: usize) -> u64 {
        let page = self
            .machine()
            .host_read(self.recs[i].1)
            .expect("NS run page");
        let at = 0x800 + offset;
        u64::from_le_bytes(page[at..at + 8].try_into().expect("8 bytes"))
    }

    /// Enters REC `i` until it pauses (an IRQ exit it asked for), servicing nothing else.
    fn run(&self, i: usize) {
        assert_eq!(self.enter(i), status::SUCCESS);
        assert_eq!(self.exit(i, 0), 1, "the realm paused with an IRQ exit");
    }

    /// The REMs after extending REM1 with 16 bytes (done by every rig's first call).
    fn rems(&self) -> Vec<Vec<u8>> {
        let mut rems = vec![vec![0u8; 32]; 4];
        let mut h = Sha256::new();
        h.update([0u8; 32]);
        h.update(extend_value());
        rems[0] = h.finalize().to_vec();
        rems
    }
}

fn extend_value() -> [u8; 16] {
    core::array::from_fn(|i| i as u8 + 0x40)
}

fn extend_call() -> Call {
    let v = extend_value();
    Call::Rsi(
        rsi::MEASUREMENT_EXTEND,
        vec![
            1,
            16,
            u64::from_le_bytes(v[..8].try_into().unwrap()),
            u64::from_le_bytes(v[8..].try_into().unwrap()),
        ],
    )
}

/// What a token says, decoded here independently of the RMM's encoder.
struct Decoded {
    challenge: Vec<u8>,
    rpv: Vec<u8>,
    public_key: Vec<u8>,
    rim: Vec<u8>,
    rems: Vec<Vec<u8>>,
    platform_token: Vec<u8>,
    order: Vec<i128>,
}

fn map_get(map: &[(Value, Value)], key: i128) -> &Value {
    &map.iter()
        .find(|(k, _)| k.as_integer().map(i128::from) == Some(key))
        .unwrap_or_else(|| panic!("claim {key} missing"))
        .1
}

fn bytes(v: &Value) -> Vec<u8> {
    v.as_bytes().expect("a byte string").clone()
}

/// Decodes a CCA token and checks its realm signature with p384 over a Sig_structure built
/// here.
fn decode_and_verify(token: &[u8]) -> Decoded {
    let Value::Tag(399, inner) = ciborium::from_reader(token).expect("CBOR") else {
        panic!("not tag 399");
    };
    let collection = inner.as_map().expect("collection map").clone();
    let platform_token = bytes(map_get(&collection, 44234));
    let realm_token = bytes(map_get(&collection, 44241));
    let Value::Tag(18, sign1) = ciborium::from_reader(&realm_token[..]).expect("CBOR") else {
        panic!("realm token is not a tagged COSE_Sign1");
    };
    let parts = sign1.as_array().expect("array").clone();
    assert_eq!(parts.len(), 4);
    let protected = bytes(&parts[0]);
    assert_eq!(protected, [0xa1, 0x01, 0x38, 0x22], "alg ES384");
    assert_eq!(parts[1], Value::Map(vec![]));
    let payload = bytes(&parts[2]);
    let signature = bytes(&parts[3]);
    let claims: Value = ciborium::from_reader(&payload[..]).expect("claims CBOR");
    let claims = claims.as_map().expect("claims map").clone();
    let order = claims
        .iter()
        .map(|(k, _)| i128::from(k.as_integer().expect("int key")))
        .collect();
    let public_key = bytes(map_get(&claims, 44237));
    // Verify under the key the token names (EC2 P-384 COSE_Key).
    let key: Value = ciborium::from_reader(&public_key[..]).expect("COSE_Key");
    let key = key.as_map().expect("COSE_Key map").clone();
    let mut sec1 = vec![0x04];
    sec1.extend(bytes(map_get(&key, -2)));
    sec1.extend(bytes(map_get(&key, -3)));
    let verifying = VerifyingKey::from_sec1_bytes(&sec1).expect("a P-384 point");
    let to_be_signed = Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected),
        Value::Bytes(vec![]),
        Value::Bytes(payload.clone()),
    ]);
    let mut tbs = Vec::new();
    ciborium::into_writer(&to_be_signed, &mut tbs).expect("encode");
    let signature = Signature::from_slice(&signature).expect("96 bytes");
    verifying
        .verify(&tbs, &signature)
        .expect("the realm signature verifies under the public key claim");
    Decoded {
        challenge: bytes(map_get(&claims, 10)),
        rpv: bytes(map_get(&claims, 44235)),
        rim: bytes(map_get(&claims, 44238)),
        rems: map_get(&claims, 44239)
            .as_array()
            .expect("REM array")
            .iter()
            .map(bytes)
            .collect(),
        public_key,
        platform_token,
        order,
    }
}

/// The platform token's challenge claim.
fn platform_challenge(platform: &[u8]) -> Vec<u8> {
    let Value::Tag(18, sign1) = ciborium::from_reader(platform).expect("CBOR") else {
        panic!("platform token is not a tagged COSE_Sign1");
    };
    let payload = bytes(&sign1.as_array().expect("array")[2]);
    let claims: Value = ciborium::from_reader(&payload[..]).expect("claims");
    bytes(map_get(claims.as_map().expect("map"), 10))
}

/// Every check a verifier makes on a token from rig `r` for `challenge`.
fn check_token(r: &Rig, token: &[u8], challenge: &[u64; 8], rim: &[u8]) {
    let d = decode_and_verify(token);
    assert_eq!(d.challenge, challenge_bytes(challenge), "challenge");
    assert_eq!(d.rpv, (0..64).map(rpv_byte).collect::<Vec<_>>(), "RPV");
    assert_eq!(d.rim, rim, "RIM as MEASUREMENT_READ gave it");
    assert_eq!(d.rems, r.rems(), "REMs after the extend");
    assert_eq!(d.order, [10, 44235, 44237, 44236, 44240, 265, 44238, 44239]);
    assert_eq!(
        d.platform_token, SAMPLE_PLATFORM_TOKEN,
        "EL3's platform token"
    );
    assert_eq!(
        platform_challenge(&d.platform_token),
        Sha256::digest(&d.public_key).to_vec(),
        "the platform token binds the realm public key claim"
    );
}

fn rim_call() -> Call {
    Call::Rsi(rsi::MEASUREMENT_READ, vec![0])
}

fn rim_bytes(seen: &Seen) -> Vec<u8> {
    // x1..x4 hold the SHA-256 RIM.
    seen.x[1..]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect::<Vec<_>>()[..24]
        .to_vec()
}

#[test]
fn token_collected_in_odd_chunks_verifies() {
    let r = Rig::new(1);
    let ch = challenge(7);
    // x1..x3 of MEASUREMENT_READ give 24 of the RIM's 32 bytes; read x4 through a second
    // look at the same call is not possible, so compare the first 24 bytes below.
    let mut calls = vec![extend_call(), rim_call(), init(&ch)];
    // (offset, size): 1, 7, 100 bytes, an empty one, then to the end of the page from an
    // odd offset, then whole pages.
    let plan: Vec<(u64, u64)> = vec![(0, 1), (1, 7), (8, 100), (108, 0), (4000, 96)];
    calls.extend(plan.iter().map(|&(o, s)| cont(BUF_IPA, o, s)));
    // The rest fits one page; then the token is over.
    calls.extend((0..2).map(|_| cont(BUF_IPA, 0, 4096)));
    r.player.push(0, calls);
    r.run(0);
    let seen = r.player.take_seen(0);
    assert_eq!(seen[0].x[0], SUCCESS, "extend");
    assert_eq!(seen[1].x[0], SUCCESS, "RIM read");
    let rim_prefix = rim_bytes(&seen[1]);
    assert_eq!(
        seen[2].x[..2],
        [SUCCESS, TOKEN_LEN as u64],
        "INIT gives the exact length"
    );
    let mut token = Vec::new();
    let mut offsets = plan.clone();
    offsets.extend([(0, 4096); 2]);
    let mut finished = None;
    for (i, (s, &(offset, size))) in seen[3..].iter().zip(&offsets).enumerate() {
        let written = s.x[1] as usize;
        if finished.is_some() {
            assert_eq!(s.x[0], ERROR_STATE, "CONTINUE after the last byte");
            continue;
        }
        assert!(written as u64 <= size, "call {i} wrote {written} > {size}");
        token.extend_from_slice(&s.page[offset as usize..offset as usize + written]);
        match s.x[0] {
            INCOMPLETE => assert_eq!(written as u64, size, "call {i}: a full chunk"),
            SUCCESS => {
                assert_eq!(written, TOKEN_LEN - 204, "the rest in one page");
                finished = Some(i);
            }
            other => panic!("call {i}: status {other}"),
        }
    }
    assert_eq!(
        finished,
        Some(5),
        "the token ends with the first whole page"
    );
    assert_eq!(token.len(), TOKEN_LEN);
    // The bytes around each chunk were not touched: the page started zeroed, and the
    // 1-byte chunk at offset 0 left byte 1 alone until the next call.
    assert_eq!(seen[3].page[1..16], [0; 15]);
    let d = decode_and_verify(&token);
    assert_eq!(&d.rim[..24], &rim_prefix[..], "RIM");
    check_token(&r, &token, &ch, &d.rim.clone());
    assert_eq!(r.player.retried(0), 0);
}

#[test]
fn continue_errors_come_in_the_reference_order() {
    let r = Rig::new(1);
    let ch = challenge(1);
    r.player.push(
        0,
        [
            // No INIT yet: arguments first, then the state.
            cont(BUF_IPA + 8, 0, 1),
            cont(BUF_IPA, 0, 1),
            init(&ch),
            cont(BUF_IPA + 1, 0, 1),
            cont(BUF_IPA, 4096, 0),
            cont(BUF_IPA, 4095, 2),
            cont(BUF_IPA, 8, u64::MAX),
            cont(BUF_IPA | UNPROTECTED, 0, 1),
            cont(1 << 40, 0, 1),
            // Signs, then finds the page EMPTY.
            cont(EMPTY_IPA, 0, 16),
            // Still in progress: the token is intact.
            cont(BUF_IPA, 0, 4096),
            cont(BUF_IPA, 0, 4096),
        ],
    );
    r.run(0);
    let seen = r.player.take_seen(0);
    let statuses: Vec<u64> = seen.iter().map(|s| s.x[0]).collect();
    assert_eq!(
        statuses,
        [
            ERROR_INPUT,
            ERROR_STATE,
            SUCCESS,
            ERROR_INPUT,
            ERROR_INPUT,
            ERROR_INPUT,
            ERROR_INPUT,
            ERROR_INPUT,
            ERROR_INPUT,
            ERROR_INPUT,
            SUCCESS,
            ERROR_STATE
        ]
    );
    for s in &seen {
        if s.x[0] != INCOMPLETE && s.x[0] != SUCCESS {
            assert_eq!(s.x[1..], [0, 0, 0], "x1..x3 zero on an error");
        }
    }
    assert_eq!(seen[10].x[1], TOKEN_LEN as u64);
    let d = decode_and_verify(&seen[10].page[..TOKEN_LEN]);
    assert_eq!(d.challenge, challenge_bytes(&ch));
}

#[test]
fn unpopulated_buffer_exits_with_a_stage2_abort_then_completes() {
    let r = Rig::new(1);
    let ch = challenge(2);
    r.player
        .push(0, [init(&ch), cont(UNPOPULATED_IPA, 0, 4096)]);
    assert_eq!(r.enter(0), status::SUCCESS);
    assert_eq!(r.exit(0, 0), 0, "SYNC exit");
    assert_eq!(
        r.exit(0, 0x100),
        0x9000_0007,
        "data abort, level 3 translation"
    );
    assert_eq!(r.exit(0, 0x110), UNPOPULATED_IPA >> 8, "HPFAR");
    // The host populates the page; the realm executes CONTINUE again.
    let data = r.host.must_delegated();
    assert_eq!(
        r.host
            .data_create_unknown(r.realm.rd, data, UNPOPULATED_IPA)[0],
        status::SUCCESS
    );
    r.player.push(0, [cont(UNPOPULATED_IPA, 0, 4096)]);
    r.run(0);
    assert_eq!(r.player.retried(0), 1, "the SMC was re-executed");
    let seen = r.player.take_seen(0);
    assert_eq!(seen[0].x[0], SUCCESS, "INIT");
    assert_eq!(seen[1].x[..2], [SUCCESS, TOKEN_LEN as u64]);
    let mut page = [0u8; 4096];
    r.machine().realm_read(data, &mut page);
    assert_eq!(
        decode_and_verify(&page[..TOKEN_LEN]).challenge,
        challenge_bytes(&ch)
    );
}

#[test]
fn pending_host_interrupt_stops_signing_after_every_step_and_keeps_the_progress() {
    let r = Rig::new(1);
    let ch = challenge(3);
    r.player.push(0, [init(&ch), cont(BUF_IPA, 0, 4096)]);
    r.machine().set_host_irq_pending(true);
    let before = r.machine().host_irq_checks();
    // While an interrupt stays pending, every REC_ENTER makes exactly one signing step and
    // exits with RMI_EXIT_IRQ; the realm sees its CONTINUE return RSI_INCOMPLETE with
    // nothing copied (PC past the SMC) and calls it again.
    for step in 1..=STEPS {
        assert_eq!(r.enter(0), status::SUCCESS);
        assert_eq!(r.exit(0, 0), 1, "RMI_EXIT_IRQ after step {step}");
        assert_eq!(r.exit(0, 0x100), 0, "no syndrome on an IRQ exit");
        assert_eq!(
            r.machine().host_irq_checks() - before,
            step,
            "asked once, after the one signing step"
        );
    }
    // Signed (the last step's check also saw the interrupt): the next CONTINUE copies
    // without signing again, so without asking again.
    r.machine().set_host_irq_pending(false);
    r.run(0);
    assert_eq!(r.player.retried(0), 0, "every SMC completed");
    assert_eq!(
        r.player.interrupted(0),
        vec![[INCOMPLETE, 0, 0, 0]; STEPS],
        "each interrupted CONTINUE returned RSI_INCOMPLETE, x1 = 0"
    );
    assert_eq!(r.machine().host_irq_checks() - before, STEPS);
    let seen = r.player.take_seen(0);
    assert_eq!(
        seen.iter().map(|s| s.x[0]).collect::<Vec<_>>(),
        [SUCCESS, SUCCESS]
    );
    assert_eq!(seen[1].x[1], TOKEN_LEN as u64);
    assert_eq!(
        decode_and_verify(&seen[1].page[..TOKEN_LEN]).challenge,
        challenge_bytes(&ch)
    );
}

#[test]
fn an_interrupt_part_way_through_signing_resumes_where_it_stopped() {
    let r = Rig::new(1);
    let ch = challenge(4);
    r.player.push(0, [init(&ch), cont(BUF_IPA, 0, 4096)]);
    // Pending at the first step's check only (the host takes it on the exit).
    r.machine().set_host_irq_pending(true);
    let before = r.machine().host_irq_checks();
    assert_eq!(r.enter(0), status::SUCCESS);
    assert_eq!(r.exit(0, 0), 1);
    assert_eq!(r.machine().host_irq_checks() - before, 1);
    r.machine().set_host_irq_pending(false);
    r.run(0);
    assert_eq!(
        r.machine().host_irq_checks() - before,
        STEPS,
        "the other steps ran in one go, each followed by a check"
    );
    assert_eq!(r.player.interrupted(0), vec![[INCOMPLETE, 0, 0, 0]]);
    assert_eq!(r.player.retried(0), 0);
    let seen = r.player.take_seen(0);
    assert_eq!(seen[1].x[..2], [SUCCESS, TOKEN_LEN as u64]);
    assert_eq!(
        decode_and_verify(&seen[1].page[..TOKEN_LEN]).challenge,
        challenge_bytes(&ch)
    );
}

#[test]
fn two_recs_collect_their_own_tokens_interleaved() {
    let r = Rig::new(2);
    let (c0, c1) = (challenge(10), challenge(20));
    for (mpidr, ch) in [(0, &c0), (1, &c1)] {
        let mut calls = vec![init(ch), Call::Pause];
        for _ in 0..5 {
            calls.push(cont(BUF_IPA, 0, 500));
            calls.push(Call::Pause);
        }
        r.player.push(mpidr, calls);
    }
    // The two sessions are in progress at the same time: INIT, INIT, then CONTINUEs
    // alternating, both RECs writing the same buffer page in turn.
    let mut tokens = [Vec::new(), Vec::new()];
    for _round in 0..6 {
        for (i, token) in tokens.iter_mut().enumerate() {
            r.run(i);
            for s in r.player.take_seen(i as u64) {
                if s.x[1] != TOKEN_LEN as u64 {
                    token.extend_from_slice(&s.page[..s.x[1] as usize]);
                }
            }
        }
    }
    r.player.push(0, [cont(BUF_IPA, 0, 500)]);
    r.run(0);
    let last = r.player.take_seen(0);
    assert_eq!(last[0].x[0], ERROR_STATE, "REC 0 finished its token");
    for (tok, ch) in tokens.iter().zip([&c0, &c1]) {
        assert_eq!(tok.len(), TOKEN_LEN);
        assert_eq!(decode_and_verify(tok).challenge, challenge_bytes(ch));
    }
    assert_ne!(tokens[0], tokens[1]);
}

#[test]
fn init_restarts_a_token_in_progress() {
    let r = Rig::new(1);
    let (a, b) = (challenge(4), challenge(5));
    r.player.push(
        0,
        [
            init(&a),
            cont(BUF_IPA, 0, 1000),
            init(&b),
            cont(BUF_IPA, 0, 4096),
        ],
    );
    r.run(0);
    let seen = r.player.take_seen(0);
    assert_eq!(seen[1].x[..2], [INCOMPLETE, 1000]);
    assert_eq!(seen[2].x[..2], [SUCCESS, TOKEN_LEN as u64]);
    assert_eq!(
        seen[3].x[..2],
        [SUCCESS, TOKEN_LEN as u64],
        "the whole new token"
    );
    assert_eq!(
        decode_and_verify(&seen[3].page[..TOKEN_LEN]).challenge,
        challenge_bytes(&b)
    );
}

#[test]
fn without_attestation_init_fails_and_continue_is_a_state_error() {
    let r = Rig::with_el3(1, |m| {
        m.configure_el3_attest(|el3| el3.key_failure = Some(El3Status::Unknown));
    });
    assert!(r.host.rig.monitor.attestation.get().is_none());
    r.player
        .push(0, [init(&challenge(6)), cont(BUF_IPA, 0, 16)]);
    r.run(0);
    let seen = r.player.take_seen(0);
    assert_eq!(seen[0].x[..2], [ERROR_UNKNOWN, 0]);
    assert_eq!(seen[1].x[..2], [ERROR_STATE, 0]);
}

#[test]
fn sha512_realm_token_is_longer_and_verifies() {
    // Built by hand: a SHA-512 realm.
    let host = Host::new();
    attestation::provision_into(
        &host.rig.monitor.attestation,
        &host.rig.machine,
        token_buffer(),
    )
    .expect("provisioned");
    let shape = Shape {
        hash: 1,
        ..Shape::default()
    };
    let realm = host.must_create_realm(shape);
    host.must_tables_to(&realm, 0, 3);
    assert_eq!(
        host.init_ripas(realm.rd, IMAGE_IPA, 0x3000)[0],
        status::SUCCESS
    );
    let data = host.must_delegated();
    let src = host.ns_page(&[0u8; 4096]);
    assert_eq!(
        host.data_create(realm.rd, data, BUF_IPA, src, 0)[0],
        status::SUCCESS
    );
    let rec = host.must_delegated();
    let mut p = host.must_rec_params(0, true);
    p.pc = IMAGE_IPA;
    assert_eq!(host.rec_create(realm.rd, rec, &p)[0], status::SUCCESS);
    assert_eq!(host.realm_activate(realm.rd)[0], status::SUCCESS);
    let player = Realm::install(&host.rig.machine, data);
    let ch = challenge(9);
    player.push(0, [init(&ch), cont(BUF_IPA, 0, 4096)]);
    let run = host.ns_page(&[0u8; 4096]);
    assert_eq!(
        host.call(fid::REC_ENTER, &[rec, run, 0, X4])[0],
        status::SUCCESS
    );
    let seen = player.take_seen(0);
    assert_eq!(seen[0].x[..2], [SUCCESS, 2284]);
    assert_eq!(seen[1].x[..2], [SUCCESS, 2284]);
    let d = decode_and_verify(&seen[1].page[..2284]);
    assert_eq!(d.rim.len(), 64);
    assert!(d.rems.iter().all(|rem| rem == &vec![0u8; 64]));
}

/// The realm public key claim of the sample key, as the RMM encodes it.
fn sample_cose_key() -> Vec<u8> {
    let mut raw = *SAMPLE_REALM_KEY;
    let key = attest::token::RealmSigningKey::from_raw_scalar(&mut raw).expect("valid");
    key.public_key().as_bytes().to_vec()
}

#[test]
fn provisioning_asks_in_hunks_with_the_key_hash_as_challenge_and_wipes_the_key() {
    for (hunk, again) in [(usize::MAX, false), (500, false), (500, true), (1, false)] {
        let machine = FakeMachine::qemu();
        machine.configure_el3_attest(|el3| {
            el3.hunk = hunk;
            el3.again_while_remaining = again;
        });
        let outcome = attestation::provision(&machine, token_buffer());
        let el3 = machine.el3_attest();
        if hunk == 1 {
            assert_eq!(
                outcome.err(),
                Some(ProvisionError::TooManyCalls),
                "1,518 one-byte hunks exceed the bound"
            );
            continue;
        }
        let a = outcome.expect("provisioned");
        assert_eq!(a.platform_token(), SAMPLE_PLATFORM_TOKEN);
        assert_eq!(a.public_key().as_bytes().to_vec(), sample_cose_key());
        let calls = SAMPLE_PLATFORM_TOKEN.len().div_ceil(hunk.min(4096));
        assert_eq!(a.platform_token_calls(), calls, "hunk {hunk}");
        assert_eq!(el3.challenges.len(), calls);
        let want = Sha256::digest(sample_cose_key()).to_vec();
        assert!(
            el3.challenges.iter().all(|c| *c == want),
            "SHA-256 of the COSE_Key"
        );
        assert!(
            el3.shared_page[48..].iter().any(|b| *b != 0) || hunk != usize::MAX,
            "the token hunk is in the shared page"
        );
    }
    // The key's bytes never stay in the shared page.
    let machine = FakeMachine::qemu();
    let mut out = [0u8; 48];
    assert_eq!(machine.el3_realm_key(&mut out), Ok(48));
    assert_eq!(&out, SAMPLE_REALM_KEY);
    assert!(machine.el3_attest().shared_page.iter().all(|b| *b == 0));
}

type Configure = Box<dyn Fn(&mut rmm::arch::fake::machine::FakeEl3Attest)>;

#[test]
fn provisioning_failures_leave_no_attestation() {
    let cases: Vec<(Configure, ProvisionError)> = vec![
        (
            Box::new(|e| e.key_failure = Some(El3Status::Inval)),
            ProvisionError::RealmKey(El3Status::Inval),
        ),
        (
            Box::new(|e| e.key = vec![7; 32]),
            ProvisionError::KeyLength(32),
        ),
        (
            Box::new(|e| e.key = vec![0; 48]),
            ProvisionError::InvalidKey,
        ),
        (
            Box::new(|e| e.key = vec![0xFF; 48]),
            ProvisionError::InvalidKey,
        ),
        (
            Box::new(|e| e.token_failure = Some(El3Status::Unknown)),
            ProvisionError::PlatformToken(El3Status::Unknown),
        ),
        (
            Box::new(|e| e.platform_token = vec![0xA5; 0x4001]),
            ProvisionError::PlatformTokenTooLarge,
        ),
        (
            Box::new(|e| e.platform_token = vec![]),
            ProvisionError::PlatformTokenEmpty,
        ),
    ];
    for (configure, want) in cases {
        let host = Host::new();
        host.rig.machine.configure_el3_attest(|e| configure(e));
        let got = attestation::provision_into(
            &host.rig.monitor.attestation,
            &host.rig.machine,
            token_buffer(),
        );
        assert_eq!(got, Err(want));
        assert!(host.rig.monitor.attestation.get().is_none());
        assert!(
            !host
                .rig
                .machine
                .el3_attest()
                .shared_page
                .windows(48)
                .any(|w| w == SAMPLE_REALM_KEY),
            "{want:?}: no key bytes left in the shared page"
        );
    }
    // A hunk that does not fit what is left of the buffer.
    let machine = FakeMachine::qemu();
    let small: &'static mut [u8] = Box::leak(vec![0u8; 1000].into_boxed_slice());
    assert_eq!(
        attestation::provision(&machine, small).err(),
        Some(ProvisionError::PlatformTokenTooLarge)
    );
}

#[test]
fn a_platform_token_that_exactly_fills_the_buffer_is_taken_whole() {
    // 5,000 bytes in hunks of 1,000: a 5,000-byte buffer holds it (the last hunk fills it to
    // the byte), a 4,999-byte one does not.
    let token: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    for (size, fits) in [(5000, true), (4999, false)] {
        let machine = FakeMachine::qemu();
        machine.configure_el3_attest(|e| {
            e.platform_token = token.clone();
            e.hunk = 1000;
        });
        let buffer: &'static mut [u8] = Box::leak(vec![0u8; size].into_boxed_slice());
        match attestation::provision(&machine, buffer) {
            Ok(provisioned) => {
                assert!(fits, "{size} bytes");
                assert_eq!(provisioned.platform_token(), &token[..]);
                assert_eq!(provisioned.platform_token_calls(), 5);
            }
            Err(error) => {
                assert!(!fits, "{size} bytes: {error:?}");
                assert_eq!(error, ProvisionError::PlatformTokenTooLarge);
            }
        }
    }
}
