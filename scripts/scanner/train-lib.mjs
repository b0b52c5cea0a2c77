// Training of the injection scorer: L2-regularised logistic regression, full-batch Adam from zero
// weights, no randomness anywhere, so the same corpus and code give the same weights on every run.
// The decision thresholds come from the training data alone: an inner cross-validation by source
// (sources dealt into folds in name order) scores every training item with a model that did not see
// its source, and each domain's threshold is the lowest that keeps those out-of-source scores of
// benign items under the false-positive budget.

/** Settings, fixed before any evaluation; `trained` in the weights records them. */
export const SETTINGS = {
  epochs: 150,
  learningRate: 0.08,
  l2Hashed: Number(process.env.SCANNER_L2_HASHED ?? 1e-3),
  l2Behaviours: 1e-4,
  /** Attack behaviours start from this weight and are pulled back towards it (a prior). */
  attackPrior: 4.0,
  /** Neutral behaviours that are evidence of an attack in content start there from this weight. */
  contentPrior: 2.0,
  l2AttackPrior: 1e-2,
  innerFolds: 5,
  /**
   * Largest share of benign items (scored out of source, in training) allowed over the threshold.
   * For definitions the budget is counted on real servers' tools: the benign tools of attack servers
   * often describe themselves as malicious and are reported, not budgeted. Short excerpts of the
   * benign documents are trained on and reported, not budgeted: two thousand easy items in the pool
   * would lend their share of the budget to the hard groups (documents about AI).
   */
  fpBudget: { definition: 0.01, content: 0.01 },
  budgetGroups: {
    definition: ['real-benign-definitions'],
    content: ['clean-results', 'hard-negatives', 'real-documents', 'ai-documents', 'real-prose']
  },
  thresholdFloor: 0.5,
  thresholdCeiling: 0.99
};

export function createTrainer(model) {
  const {
    windowFeatures,
    HASH_SIZE,
    BEHAVIOURS,
    ADDRESSING,
    PADDING,
    DEFINITION_ONLY,
    DEFINITION_EVIDENCE,
    CONTENT_EVIDENCE,
    CONTENT_DECISIVE,
    DEFINITION_DECISIVE,
    CONCEALMENT
  } = model;
  const B = BEHAVIOURS.length;
  const OFF_SHARED = HASH_SIZE;
  const OFF_DOMAIN = { definition: HASH_SIZE + B, content: HASH_SIZE + 2 * B };
  const OFF_BIAS = { definition: HASH_SIZE + 3 * B, content: HASH_SIZE + 3 * B + 1 };
  const DIM = HASH_SIZE + 3 * B + 2;
  const ATTACK = BEHAVIOURS.map((b) => b.prior === 'attack');
  const CONTENT_PRIOR = BEHAVIOURS.map((b) => b.contentPrior === true);

  /** Sparse vector of one window's features, in the layout above. */
  function vectorOf(f, domain) {
    const idx = [];
    const val = [];
    if (!process.env.SCANNER_NO_HASHED) {
      for (const [k, v] of f.hashed) {
        idx.push(k);
        val.push(v);
      }
    }
    for (let i = 0; i < B; i++) {
      const v = f.behaviours[i];
      if (v === 0) continue;
      // An attack behaviour has one weight for both domains, and in content a second one that the
      // data can lower (a file name or "deprecated" in a document is not what it is in a tool's
      // description) but never below zero in total; a neutral one has a weight per domain.
      if (ATTACK[i] && domain === 'definition') {
        idx.push(OFF_SHARED + i);
        val.push(v);
      } else {
        idx.push(OFF_SHARED + i, OFF_DOMAIN[domain] + i);
        val.push(v, v);
      }
    }
    idx.push(OFF_BIAS[domain]);
    val.push(1);
    return { idx: Int32Array.from(idx), val: Float64Array.from(val) };
  }

  /** The windows of every item, featurised once. */
  function prepare(items) {
    return items.map((it) => {
      const feats = windowFeatures(it.text, it.ctx, it.domain);
      const spans = feats.map((f) => f.span);
      const vecs = feats.map((f) => vectorOf(f, it.domain));
      let positive = vecs.map(() => true);
      if (it.label === 1 && spans.length > 1 && it.injection) {
        const probe = it.injection.slice(0, 40);
        const hit = spans.map(([s, e]) => it.text.slice(s, e).includes(probe));
        if (hit.some(Boolean)) positive = hit;
      }
      return { item: it, vecs, positive };
    });
  }

  /**
   * Evidence the features can see: an attack behaviour, or text that dictates the model's output or
   * names the model. A positive in content without any (a plain question or task planted in data,
   * text in a language the behaviours do not read) is left out of training: learning it would teach
   * that unfamiliar text is an injection. It is still scored and counted in every evaluation.
   */
  const EVIDENCE = BEHAVIOURS.map(
    (b, i) =>
      (b.prior === 'attack' && !DEFINITION_ONLY[i]) ||
      b.contentPrior === true ||
      b.name === 'output-control' ||
      b.name === 'mentions-model'
  );
  /** Does a window's vector hold a behaviour that `flags` marks? */
  const fires = (vec, flags) => {
    for (let j = 0; j < vec.idx.length; j++) {
      const k = vec.idx[j] - OFF_SHARED;
      if (k >= 0 && k < B && flags[k] && vec.val[j] > 0) return true;
    }
    return false;
  };
  const hasEvidence = (vec) => fires(vec, EVIDENCE);

  /** Training samples with weights: each class of each domain weighs the same, sources evenly. */
  function samples(prepared) {
    const perSourceLabel = new Map();
    for (const p of prepared) {
      if (p.item.label === 1 && p.item.domain === 'content' && !p.vecs.some(hasEvidence)) continue;
      const k = `${p.item.source}|${p.item.label}`;
      perSourceLabel.set(k, (perSourceLabel.get(k) ?? 0) + 1);
    }
    const out = [];
    for (const p of prepared) {
      const base = 1 / Math.sqrt(perSourceLabel.get(`${p.item.source}|${p.item.label}`));
      let chosen = p.vecs.filter((_, i) => p.item.label === 0 || p.positive[i]);
      if (p.item.label === 1 && p.item.domain === 'content') chosen = chosen.filter(hasEvidence);
      if (chosen.length === 0) continue;
      const per = p.item.label === 1 ? base / chosen.length : base / Math.sqrt(chosen.length);
      for (const v of chosen) out.push({ ...v, y: p.item.label, w: per, domain: p.item.domain });
    }
    // Balance: in each domain, positives and negatives carry equal total weight.
    for (const domain of ['definition', 'content']) {
      const pos = out.filter((s) => s.domain === domain && s.y === 1);
      const neg = out.filter((s) => s.domain === domain && s.y === 0);
      const wp = pos.reduce((a, s) => a + s.w, 0);
      const wn = neg.reduce((a, s) => a + s.w, 0);
      if (wp === 0 || wn === 0) continue;
      const total = wp + wn;
      for (const s of pos) s.w *= total / (2 * wp);
      for (const s of neg) s.w *= total / (2 * wn);
    }
    const sum = out.reduce((a, s) => a + s.w, 0);
    for (const s of out) s.w /= sum;
    return out;
  }

  function fit(prepared) {
    const data = samples(prepared);
    const w = new Float64Array(DIM);
    for (let i = 0; i < B; i++) if (ATTACK[i]) w[OFF_SHARED + i] = SETTINGS.attackPrior;
    for (let i = 0; i < B; i++) if (CONTENT_PRIOR[i]) w[OFF_DOMAIN.content + i] = SETTINGS.contentPrior;
    const m = new Float64Array(DIM);
    const v = new Float64Array(DIM);
    const g = new Float64Array(DIM);
    const b1 = 0.9;
    const b2 = 0.999;
    for (let epoch = 1; epoch <= SETTINGS.epochs; epoch++) {
      g.fill(0);
      for (const s of data) {
        let z = 0;
        for (let j = 0; j < s.idx.length; j++) z += w[s.idx[j]] * s.val[j];
        const p = 1 / (1 + Math.exp(-z));
        const d = (p - s.y) * s.w;
        for (let j = 0; j < s.idx.length; j++) g[s.idx[j]] += d * s.val[j];
      }
      const lr = SETTINGS.learningRate;
      const c1 = 1 - Math.pow(b1, epoch);
      const c2 = 1 - Math.pow(b2, epoch);
      for (let k = 0; k < DIM; k++) {
        const isBias = k >= OFF_BIAS.definition;
        const attackShared = k >= OFF_SHARED && k < OFF_SHARED + B && ATTACK[k - OFF_SHARED];
        const contentPrior =
          k >= OFF_DOMAIN.content && k < OFF_DOMAIN.content + B && CONTENT_PRIOR[k - OFF_DOMAIN.content];
        const gk = isBias
          ? g[k]
          : attackShared
            ? g[k] + SETTINGS.l2AttackPrior * (w[k] - SETTINGS.attackPrior)
            : contentPrior
              ? g[k] + SETTINGS.l2AttackPrior * (w[k] - SETTINGS.contentPrior)
              : g[k] + (k < HASH_SIZE ? SETTINGS.l2Hashed : SETTINGS.l2Behaviours) * w[k];
        if (gk === 0 && m[k] === 0) continue;
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        w[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + 1e-8);
      }
      // An attack behaviour never counts against a finding.
      for (let i = 0; i < B; i++) if (ATTACK[i] && w[OFF_SHARED + i] < 0) w[OFF_SHARED + i] = 0;
      // Nor in content, its weight there included; nor one that is evidence in content, there.
      for (let i = 0; i < B; i++) {
        const k = OFF_DOMAIN.content + i;
        if ((ATTACK[i] || CONTENT_PRIOR[i]) && w[k] + w[OFF_SHARED + i] < 0) w[k] = -w[OFF_SHARED + i];
      }
      // What an attacker adds at no cost never counts for a text, in either domain (`PADDING`).
      for (let i = 0; i < B; i++) {
        if (!PADDING[i]) continue;
        for (const k of [OFF_DOMAIN.definition + i, OFF_DOMAIN.content + i]) {
          if (w[k] + w[OFF_SHARED + i] < 0) w[k] = -w[OFF_SHARED + i];
        }
      }
      // What is evidence only in a definition counts for nothing in content (`DEFINITION_ONLY`).
      for (let i = 0; i < B; i++) if (DEFINITION_ONLY[i]) w[OFF_DOMAIN.content + i] = -w[OFF_SHARED + i];
      // Nor does addressing the model count against a definition (`ADDRESSING`).
      for (let i = 0; i < B; i++) {
        const k = OFF_DOMAIN.definition + i;
        if (ADDRESSING[i] && w[k] + w[OFF_SHARED + i] < 0) w[k] = -w[OFF_SHARED + i];
      }
    }
    return w;
  }

  /**
   * The score the gateway withholds or flags an item on: its score when it shows evidence (of action
   * in a definition, `DEFINITION_EVIDENCE`; of asking the model for something in content,
   * `CONTENT_EVIDENCE`). Without evidence, one that conceals (`CONCEALMENT`) is judged on its score
   * without the concealment, so that hidden guidance counts and hidden plain text does not; a
   * definition that neither shows evidence nor conceals only addresses the model: 0, reported and
   * never withheld, whatever its score; content without either, its score.
   */
  function withholdScore(w, p) {
    const score = scoreItem(w, p);
    const definition = p.item.domain === 'definition';
    if (p.vecs.some((vec) => fires(vec, definition ? DEFINITION_EVIDENCE : CONTENT_EVIDENCE))) return score;
    if (!p.vecs.some((vec) => fires(vec, CONCEALMENT))) return definition ? 0 : score;
    return Math.min(score, scoreItem(w, p, CONCEALMENT));
  }

  /**
   * Data that asks for what no document needs, and a definition that asks for what no real tool needs,
   * are flagged whatever their score (`CONTENT_DECISIVE`, `DEFINITION_DECISIVE`).
   */
  function decides(p) {
    const decisive = p.item.domain === 'content' ? CONTENT_DECISIVE : DEFINITION_DECISIVE;
    return p.vecs.some((vec) => fires(vec, decisive));
  }

  /** The gateway's decision on a prepared item: its score against the threshold, and the two rules. */
  function flagged(w, p, t) {
    return withholdScore(w, p) >= t[p.item.domain] || decides(p);
  }

  /** Highest window probability of a prepared item under weights `w`, less the behaviours `without` marks. */
  function scoreItem(w, p, without) {
    let best = -Infinity;
    const own = OFF_DOMAIN[p.item.domain];
    for (const s of p.vecs) {
      let z = 0;
      for (let j = 0; j < s.idx.length; j++) {
        const k = s.idx[j];
        if (
          without &&
          ((k >= OFF_SHARED && k < OFF_SHARED + B && without[k - OFF_SHARED]) ||
            (k >= own && k < own + B && without[k - own]))
        )
          continue;
        z += w[k] * s.val[j];
      }
      if (z > best) best = z;
    }
    return 1 / (1 + Math.exp(-best));
  }

  /** Thresholds from out-of-source scores inside the training data. */
  function thresholds(prepared) {
    const sources = [...new Set(prepared.map((p) => p.item.source))].sort();
    const foldOf = new Map(sources.map((s, i) => [s, i % SETTINGS.innerFolds]));
    const scored = [];
    for (let f = 0; f < SETTINGS.innerFolds; f++) {
      const train = prepared.filter((p) => foldOf.get(p.item.source) !== f);
      const test = prepared.filter((p) => foldOf.get(p.item.source) === f);
      if (test.length === 0) continue;
      const w = fit(train);
      for (const p of test) {
        scored.push({
          // What cannot be withheld cannot be a false positive: it does not set the threshold. What a
          // rule flags whatever its score is above every threshold: it counts against the budget.
          p: decides(p) ? 1 : withholdScore(w, p),
          y: p.item.label,
          domain: p.item.domain,
          group: p.item.group,
          id: p.item.id
        });
      }
    }
    const out = {};
    for (const domain of ['definition', 'content']) {
      const neg = scored
        .filter((s) => s.domain === domain && s.y === 0 && SETTINGS.budgetGroups[domain].includes(s.group))
        .map((s) => s.p)
        .sort((a, b) => b - a);
      const allowed = Math.floor(neg.length * SETTINGS.fpBudget[domain]);
      // The lowest threshold with at most `allowed` benign items at or above it.
      const boundary = neg[allowed] ?? 0;
      const t = Math.min(SETTINGS.thresholdCeiling, Math.max(SETTINGS.thresholdFloor, boundary + 1e-6));
      out[domain] = Number(t.toFixed(6));
    }
    return { thresholds: out, innerScored: scored };
  }

  function toWeights(w, thresholdsByDomain, trained) {
    const buf = Buffer.alloc(HASH_SIZE * 4);
    for (let i = 0; i < HASH_SIZE; i++) buf.writeFloatLE(w[i], i * 4);
    const round = (x) => Number(x.toFixed(6));
    return {
      version: 1,
      hashBits: Math.log2(HASH_SIZE),
      behaviours: BEHAVIOURS.map((b) => b.name),
      hashed: buf.toString('base64'),
      shared: Array.from(w.subarray(OFF_SHARED, OFF_SHARED + B), round),
      domain: {
        definition: Array.from(w.subarray(OFF_DOMAIN.definition, OFF_DOMAIN.definition + B), round),
        content: Array.from(w.subarray(OFF_DOMAIN.content, OFF_DOMAIN.content + B), round)
      },
      bias: { definition: round(w[OFF_BIAS.definition]), content: round(w[OFF_BIAS.content]) },
      threshold: thresholdsByDomain,
      trained
    };
  }

  return { prepare, fit, scoreItem, withholdScore, decides, flagged, thresholds, toWeights };
}
