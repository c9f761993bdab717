// node-seal (Microsoft SEAL 4.x compiled to WebAssembly) side of the veil vs node-seal
// comparison. Reads the parameter sets printed by `veil_bench_he_compare --params` (one JSON
// object per line, file given as argv[2]) and builds SEAL contexts with exactly the same
// primes (the last one is SEAL's special prime, as in veil), then prints JSON lines
//   {"lib":"node-seal","set":...,"op":...,"us":median}
//   {"lib":"node-seal","set":...,"metric":...,"value":...}
// Timing: wall time (process.hrtime), median of --reps samples after one warm-up (a sample
// repeats a fast operation until it takes >= 2 ms), as on the veil side.
// Out-of-place SEAL calls copy their input first (SEAL does `destination = encrypted`), so the
// veil side copies too for mul_plain, relinearize, rotate. node-seal has no hoisted
// rotations: "rotate_hoisted" is 8 plain rotations (steps 1..8) per rotation.
'use strict';
const fs = require('fs');
const path = require('path');

const modulePath = process.env.NODE_SEAL_PATH ||
  path.join(__dirname, '..', '..', 'third_party', 'node', 'node_modules', 'node-seal');
const SEAL = require(modulePath);

const args = process.argv.slice(2);
const paramsFile = args.find((a) => !a.startsWith('--'));
const repsArg = args.find((a) => a.startsWith('--reps='));
const setsArg = args.filter((a) => a.startsWith('--set=')).map((a) => a.slice(6));
const reps = repsArg ? Math.max(1, parseInt(repsArg.slice(7), 10)) : 20;
const kHoistedSteps = 8;

function report(set, op, fn, divide = 1) {
  const now = () => Number(process.hrtime.bigint()) / 1000;
  // Warm-up, which also sizes a sample (>= 2 ms of CPU), as on the veil side.
  const tFirst = now();
  fn();
  const once = Math.max(1, now() - tFirst);
  const inner = Math.max(1, Math.floor(2000 / once));
  const us = [];
  for (let i = 0; i < reps; ++i) {
    const t0 = now();
    for (let k = 0; k < inner; ++k) fn();
    us.push((now() - t0) / inner / divide);
  }
  us.sort((x, y) => x - y);
  console.log(JSON.stringify({ lib: 'node-seal', set, op, us: Number(us[Math.floor(us.length / 2)].toFixed(2)) }));
}

function metric(set, name, value) {
  console.log(JSON.stringify({ lib: 'node-seal', set, metric: name, value: Number(value.toFixed(3)) }));
}

function makeContext(seal, p) {
  const parms = seal.EncryptionParameters(p.scheme === 'bfv' ? seal.SchemeType.bfv : seal.SchemeType.ckks);
  parms.setPolyModulusDegree(p.n);
  const primes = seal.Vector();
  primes.from(p.primes.map((x) => seal.Modulus(BigInt(x)).instance), 'Modulus');
  parms.setCoeffModulus(primes);
  if (p.scheme === 'bfv') parms.setPlainModulus(seal.Modulus(BigInt(p.t)));
  const context = seal.Context(parms, true, seal.SecurityLevel.tc128);
  if (!context.parametersSet()) {
    throw new Error(`${p.set}: SEAL refuses the parameters: ${context.parameterErrorMessage()}`);
  }
  return context;
}

function run(seal, p) {
  const set = p.set;
  const context = makeContext(seal, p);
  const keygen = seal.KeyGenerator(context);
  const sk = keygen.secretKey();
  const pk = keygen.createPublicKey();
  const rk = keygen.createRelinKeys();
  const steps = Int32Array.from({ length: kHoistedSteps }, (_, i) => i + 1);
  const gk = keygen.createGaloisKeys(steps);
  const encryptor = seal.Encryptor(context, pk, sk);
  const decryptor = seal.Decryptor(context, sk);
  const evaluator = seal.Evaluator(context);
  const dest = seal.CipherText();
  if (p.scheme === 'bfv') {
    const encoder = seal.BatchEncoder(context);
    const n = encoder.slotCount;
    const t = BigInt(p.t);
    const values = BigUint64Array.from({ length: n }, () => BigInt(Math.floor(Math.random() * Number(t))));
    const plain = encoder.encode(values);
    const a = encryptor.encrypt(plain);
    const b = encryptor.encrypt(plain);
    const prod = evaluator.multiply(a, b);
    report(set, 'encode', () => encoder.encode(values, plain));
    report(set, 'decode', () => encoder.decodeBigInt(plain, false));
    report(set, 'encrypt_pk', () => encryptor.encrypt(plain, dest));
    report(set, 'encrypt_sk', () => encryptor.encryptSymmetric(plain, dest));
    const out = seal.PlainText();
    report(set, 'decrypt', () => decryptor.decrypt(a, out));
    const c = a.clone();
    report(set, 'add', () => evaluator.add(c, b, c));
    report(set, 'mul_plain', () => evaluator.multiplyPlain(a, plain, dest));
    report(set, 'mul_ct', () => evaluator.multiply(a, b, dest));
    report(set, 'relinearize', () => evaluator.relinearize(prod, rk, dest));
    report(set, 'rotate', () => evaluator.rotateRows(a, 1, gk, dest));
    report(set, 'rotate_hoisted', () => {
      for (let s = 1; s <= kHoistedSteps; ++s) evaluator.rotateRows(a, s, gk, dest);
    }, kHoistedSteps);
  } else {
    const encoder = seal.CKKSEncoder(context);
    const n = encoder.slotCount;
    const scale = Math.pow(2, p.scale_bits);
    const v = Float64Array.from({ length: n }, () => Math.random() * 1.4 - 0.7);
    const w = Float64Array.from({ length: n }, () => Math.random() * 1.4 - 0.7);
    const plain = encoder.encode(v, scale);
    const plainW = encoder.encode(w, scale);
    const a = encryptor.encrypt(plain);
    const b = encryptor.encrypt(plainW);
    const prod = evaluator.multiply(a, b);
    const relin = evaluator.relinearize(prod, rk);
    report(set, 'encode', () => encoder.encode(v, scale, plain));
    report(set, 'decode', () => encoder.decode(plain));
    report(set, 'encrypt_pk', () => encryptor.encrypt(plain, dest));
    report(set, 'encrypt_sk', () => encryptor.encryptSymmetric(plain, dest));
    const out = seal.PlainText();
    report(set, 'decrypt', () => decryptor.decrypt(a, out));
    const c = a.clone();
    report(set, 'add', () => evaluator.add(c, b, c));
    report(set, 'mul_plain', () => evaluator.multiplyPlain(a, plainW, dest));
    report(set, 'mul_ct', () => evaluator.multiply(a, b, dest));
    report(set, 'relinearize', () => evaluator.relinearize(prod, rk, dest));
    report(set, 'rescale', () => evaluator.rescaleToNext(relin, dest));
    report(set, 'rotate', () => evaluator.rotateVector(a, 1, gk, dest));
    report(set, 'rotate_hoisted', () => {
      for (let s = 1; s <= kHoistedSteps; ++s) evaluator.rotateVector(a, s, gk, dest);
    }, kHoistedSteps);
    const maxErr = (ct, want) => {
      const got = encoder.decode(decryptor.decrypt(ct));
      let e = 0;
      for (let i = 0; i < n; ++i) e = Math.max(e, Math.abs(got[i] - want(i)));
      return Math.log2(e);
    };
    metric(set, 'precision_fresh_log2', maxErr(a, (i) => v[i]));
    metric(set, 'precision_fresh_sk_log2', maxErr(encryptor.encryptSymmetric(plain), (i) => v[i]));
    metric(set, 'precision_mul_plain_log2',
      maxErr(evaluator.rescaleToNext(evaluator.multiplyPlain(a, plainW)), (i) => v[i] * w[i]));
    metric(set, 'precision_rotate_log2', maxErr(evaluator.rotateVector(a, 1, gk), (i) => v[(i + 1) % n]));
    const r = evaluator.rescaleToNext(relin);
    metric(set, 'precision_mul_log2', maxErr(r, (i) => v[i] * w[i]));
  }
}

(async () => {
  const seal = await SEAL();
  const sets = fs.readFileSync(paramsFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  for (const p of sets) {
    if (setsArg.length && !setsArg.includes(p.set)) continue;
    run(seal, p);
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
