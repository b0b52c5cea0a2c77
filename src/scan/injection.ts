/**
 * Phrase rules for text addressed to the model: in a tool description (where the server author
 * speaks to the model directly) or inside data a tool returns (where nobody should). Each rule is
 * one bounded regex plus an optional check in code; the findings are of kind `injection`,
 * `exfiltration` (sending data out, changing where other calls send it) or `shadowing` (steering
 * other tools). Severity depends on where the text sits: in a definition, an imperative about
 * secret files is an attack; in a README returned by a tool it is often a setup step.
 *
 * These rules catch the explicit forms (ignore-your-instructions, hidden directive tags,
 * concealment from the user, jailbreak personas, requests to rewrite "your response", exfiltration
 * phrasing). They do not understand intent: an instruction that reads like ordinary content ("What
 * is the capital of Brazil?") passes.
 */
import type { Finding, FindingKind, Severity } from './types.js';
import { compileAhead, eachMatch, rx } from './util.js';

export type TextMode = 'definition' | 'content';

// Building blocks. Every quantifier is bounded; the word class and the gap class are disjoint, so
// a run of words splits only one way.
const G = '[\\s,]{1,4}'; // gap between words
const OG = '[\\s,]{0,4}'; // optional gap
const HG = '[ \\t,]{1,4}'; // gap on one line
const W = "[\\w'’-]{1,24}"; // one word
const words = (n: number): string => `(?:${G}${W}){0,${n}}`;
/** A lazy gap inside one sentence: `.`, `!` and `?` only end it when a space or the end follows. */
const sentence = (n: number): string => `(?:[^.!?\\n]|[.!?](?=[^\\s])){0,${n}}?`;
const NOT = `(?:do${G}not|don[’']?t|never|dont)`;
const APOS = "[’']";

/** Words that turn a verb into an instruction to the model. */
const STRONG_MARKER = `\\b(?:before|first|firstly|must|always|please|you${G}(?:need|have|should)${G}to|make${G}sure|be${G}sure|remember${G}to|don[’']?t${G}forget${G}to|(?:is|are)${G}required${G}to|prerequisite)\\b`;
const READ_VERBS =
  '(?:read|cat|open|load|fetch|print|output|dump|retrieve|access|grab|get|obtain|collect|extract|inspect|check|look${G}(?:at|in|up))';
const SEND_VERBS =
  '(?:send|upload|attach|paste|pass|provide|include|exfiltrate|forward|post|email|leak|supply|copy)';

const SENSITIVE_PATH = `(?:~/\\.ssh\\b|\\.ssh/|\\bid_(?:rsa|dsa|ecdsa|ed25519)\\b|\\bauthorized_keys\\b|(?<![\\w.])\\.env(?!\\.(?:example|sample|template|dist))(?:\\.[\\w-]{1,20})?\\b|\\.envrc\\b|\\.aws/(?:credentials|config)\\b|\\bcredentials\\.json\\b|\\.npmrc\\b|\\.pypirc\\b|\\.netrc\\b|\\.pgpass\\b|\\.git-credentials\\b|\\.docker/config\\.json\\b|\\.kube/config\\b|/etc/(?:passwd|shadow|sudoers)\\b|\\.(?:bash|zsh)_history\\b|\\bmcp\\.json\\b|\\bclaude_desktop_config\\.json\\b|\\.cursor/|\\.gnupg\\b|\\bwallet\\.dat\\b|\\bsecrets?\\.(?:json|ya?ml|toml)\\b|\\bkeychain\\b|\\.config/gh/hosts\\.yml\\b|\\.config/gcloud\\b|\\.azure/)`;

const SENSITIVE_NOUN = `(?:private${G}keys?|ssh${G}keys?|api${G}keys?|access${G}keys?|credentials|passwords?|passphrases?|(?:auth|access|session|bearer|api)${G}tokens?|secrets?|cookies|session${G}(?:ids?|data)|(?:all|every)${G}(?:the${G}|your${G})?(?:environment${G}variables|env${G}vars)|(?:conversation|chat|message)${G}history|previous${G}messages|system${G}prompt|(?:its|their|the|file|whole|full|entire)${G}contents?|contents?${G}of|full${G}text)`;

const SENSITIVE_DATA = new RegExp(`${SENSITIVE_PATH}|${SENSITIVE_NOUN}`, 'i');
const EXAMPLE_TARGET =
  /@(?:[\w-]{1,63}\.){0,16}example\.(?:com|org|net)\b|:\/\/(?:[\w-]{1,63}\.){0,16}example\.(?:com|org|net)\b|localhost/i;
/** Code that sends data out, runs commands, touches cookies or secrets, enumerates the machine or mines. */
const SUSPICIOUS_CODE =
  /requests\.(?:post|put)|urlopen|http\.client|socket\.|\.connect\(|sendall|sendto|smtplib|sendmail|paho|mqtt|ftplib|cookie|dict\(os\.environ\)|os\.environ\.items|printenv|psutil|subprocess|os\.system|os\.popen|\/etc\/(?:passwd|shadow)|\.ssh|keylog|pynput|clipboard|xmrig|minerd|stratum|winreg|wmi\b|lsusb|lspci|scapy|nmap|paramiko|reverse shell|rm -rf|shutil\.rmtree|eval\(|exec\(/i;
const YOUR_WORK =
  /\byour\s{1,3}(?:code|codebase|implementation|solution|algorithm|program|script|response|answer|reply|output)\b/i;
const SECRET_ENV_NAME = /\b[A-Z][A-Z0-9_]{1,40}_(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS)\b/;

type Check = (m: RegExpExecArray, text: string, mode: TextMode) => Severity | false | undefined;

interface PhraseRule {
  rule: string;
  kind: FindingKind;
  message: string;
  /** Severity in a definition and in content; a check may return another one, or false to drop. */
  severity: { definition: Severity; content: Severity | false };
  re: RegExp;
  check?: Check;
}

const both = (s: Severity): { definition: Severity; content: Severity } => ({ definition: s, content: s });

function r(
  rule: string,
  kind: FindingKind,
  severity: PhraseRule['severity'],
  message: string,
  pattern: string,
  flags = 'i',
  check?: Check
): PhraseRule {
  return { rule, kind, severity, message, re: rx(pattern, flags), check };
}

const TARGETS_STRONG = `(?:instructions?|prompts?|directives?|guidelines|guidance|programming|system${G}prompt|commands${G}(?:above|before))`;
const QUALIFIER = `(?:previous|prior|above|earlier|preceding|former|original|initial|existing|all|any|your|safety|content|usage|openai|ethical|moral)`;
const TARGETS_WEAK = `(?:rules|context|messages|constraints|restrictions|polic(?:y|ies)|conversation|tasks?|orders|training|filters?|limitations|settings)`;
const MODEL = `(?:AI|A\\.I\\.|AI${G}assistants?|AI${G}agents?|AI${G}models?|LLMs?|large${G}language${G}models?|language${G}models?|chatbots?|GPT|ChatGPT|Claude|Gemini|Copilot)`;
const MODEL_OR_ASSISTANT = `(?:${MODEL}|assistants?)`;
const YOUR_OUTPUT = `your${G}(?:(?:next|final|entire|whole|current|following)${G})?(?:answers?|responses?|repl(?:y|ies)|outputs?|messages?|summary|summaries|completions?|results?)\\b`;
const OUTPUT_VERBS =
  '(?:add|include|integrate|insert|append|embed|incorporate|modify|change|alter|augment|enhance|enrich|mention|provide|use|render|replace|convert|introduce|scramble|rearrange|remove|group|combine|misspell|jumble|anagram|substitute|tease|hint|suggest|promote|translate|write|respond|reply|answer|start|begin|end|finish|format|encode|output|say|tell|put|give|offer|express|invite|urge|encourage|direct|link|recommend|state|emphasi[sz]e|stress|highlight|inform|make|ensure|conclude|close|sign|prefix|wrap|present|deliver|display|show|compose|craft|draft|generate|create|share|provide)';
const EXFIL_VERBS =
  '(?:send|post|upload|forward|transmit|exfiltrate|submit|beacon|deliver|pipe|leak|relay|mirror|sync|share|email|e-mail)';
/** A concrete destination: an email address, a URL with a host, an IBAN-like account, a wallet. */
const TARGET =
  '(?:[\\w.+-]{1,64}@[\\w-]{1,63}\\.[A-Za-z]{2,24}\\b|https?://[\\w-]{1,63}\\.[\\w.-]{2,100}|\\b[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}\\b|\\b0x[0-9a-fA-F]{40}\\b)';
const RECIPIENT =
  '(?:[\\w.+-]{1,64}@[\\w-]{1,63}\\.[A-Za-z]{2,24}\\b|\\b[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}\\b|\\b0x[0-9a-fA-F]{40}\\b)';
const CALL = '(?:call|calling|use|using|invoke|invoking|run|running|execute|executing)';
const NAME = '[`\'"]?([\\w.:/-]{2,64})[`\'"]?';
const DIRECTIVE =
  '(?:always|first|also|must|never|make|ensure|remember|add|include|set|change|send|use|pass|replace|call|ignore|redirect|cc|bcc|append|prepend|insert)';
const SELF = new Set([
  'this',
  'that',
  'it',
  'the',
  'these',
  'those',
  'a',
  'an',
  'any',
  'tool',
  'tools',
  'function'
]);

/** Findings whose named tool is this tool (`this`, `it`) are not about other tools. */
const namesAnotherTool: Check = (m) => (SELF.has((m[1] ?? '').toLowerCase()) ? false : undefined);

/** True at a sentence end: `.`, `!` or `?` followed by whitespace, or a newline. */
function endsSentence(text: string, i: number): boolean {
  const c = text[i];
  if (c === '\n') return true;
  return (c === '.' || c === '!' || c === '?') && (i + 1 >= text.length || /\s/.test(text[i + 1]!));
}

/** The sentence around a match, at most 200 characters either side. */
function sentenceOf(m: RegExpExecArray, text: string): string {
  let s = m.index;
  while (s > 0 && m.index - s < 200 && !endsSentence(text, s - 1)) s--;
  let e = m.index + m[0].length;
  while (e < text.length && e - (m.index + m[0].length) < 200 && !endsSentence(text, e)) e++;
  return text.slice(s, e);
}

/** Data only a model has: its context, its instructions, secret files and secret-named variables. */
const MODEL_DATA = new RegExp(
  `${SENSITIVE_PATH}|(?:conversation|chat|message)${G}history|previous${G}messages|(?:the|this|whole|entire)${G}conversation|system${G}prompt|(?:all|every)${G}(?:the${G}|your${G})?(?:environment${G}variables|env${G}vars)`,
  'i'
);

/**
 * The data moved must be secret: a secret file or noun, or a secret-named variable, in the
 * sentence. In content (documentation talks about passing credentials all the time) only data
 * that belongs to the model's session counts.
 */
const needsSensitiveData: Check = (m, text, mode) => {
  const s = sentenceOf(m, text);
  if (SECRET_ENV_NAME.test(s) || MODEL_DATA.test(s)) return undefined;
  if (!SENSITIVE_DATA.test(s)) return false;
  return mode === 'content' ? 'low' : undefined;
};

/**
 * A capitalised verb may start a sentence whose full stop is missing; a request for the reader's
 * own details ("include your order number in your reply") is a message to a person.
 */
const responseCheck: Check = (m, text) => {
  if (m[1] !== undefined) {
    const c = text.charCodeAt(m.index + m[1].length);
    if (!(c >= 65 && c <= 90)) return false;
  }
  return (m[0].match(/\byour\b/gi) ?? []).length >= 2 ? false : undefined;
};

const exfilUrlCheck: Check = (m, text) => {
  const url = text.slice(m.index + m[0].length - 12, m.index + m[0].length + 80);
  if (EXAMPLE_TARGET.test(url)) return false;
  return /\b(?:contents?|data|files?|conversation|history|messages?|chat|credentials|keys?|tokens?|secrets?|passwords?|env|environment|results?|output|everything|information|info|details|context|documents?|memory|emails?|records?|logs?|cookies|it|them|this)\b/i.test(
    m[0]
  )
    ? undefined
    : false;
};

const targetNotExample: Check = (m) => (EXAMPLE_TARGET.test(m[0]) ? false : undefined);

const markdownImageCheck: Check = (m) => {
  // The alt text has no `]`, so the first `](` opens the URL (a `(` in the alt text does not).
  const url = m[0].slice(m[0].indexOf('](') + 2);
  // A placeholder for the model to fill: {data}, {{x}}, <SECRET>, [QUERY], $VAR, or their escapes. A
  // stray `</>` in a badge's label is not one.
  if (
    /\{[^{}\s]{1,60}\}|%7B[^%\s]{1,60}%7D|<[A-Za-z][\w -]{1,40}>|%3C[A-Za-z][\w-]{1,40}%3E|\[[A-Z][A-Z_ -]{1,40}\]|\$[A-Z][A-Z_]{1,40}/i.test(
      url
    )
  ) {
    return undefined;
  }
  const q =
    /[?&](?:data|q|query|content|text|msg|message|conversation|history|secret|key|token|password|info|d|p|prompt|exfil|payload|c|s)=([^&)\s]{0,400})/i.exec(
      url
    );
  return q && q[1]!.length >= 24 ? undefined : false;
};

const codeInsertionCheck: Check = (m, text) => {
  const before = text.slice(Math.max(0, m.index - 200), m.index);
  const cut = Math.max(before.lastIndexOf('.'), before.lastIndexOf('\n'));
  const sentenceText =
    before.slice(cut + 1) + text.slice(m.index, m.index + m[0].length + 120).split(/[\n.]/)[0];
  const after = text.slice(m.index, m.index + m[0].length + 800);
  return YOUR_WORK.test(sentenceText) || SUSPICIOUS_CODE.test(after) ? 'medium' : undefined;
};

const RULES: readonly PhraseRule[] = [
  // --- Overriding the model's instructions -------------------------------------------------
  r(
    'ignore-instructions',
    'injection',
    both('high'),
    'tells the model to ignore its instructions',
    `\\b(?:(?:ignore|disregard)${words(4)}${G}(?:${TARGETS_STRONG}|${QUALIFIER}${G}${TARGETS_WEAK})|(?:bypass|override)${words(4)}${G}${TARGETS_STRONG})\\b`
  ),
  r(
    'ignore-instructions',
    'injection',
    both('high'),
    'tells the model to forget what it was told',
    `(?<!(?:n[’']?t|not|never)${G})\\bforget${G}(?:about${G})?(?:all|everything|any(?:thing)?|what(?:ever)?|your|the)${words(2)}${G}(?:previous(?:ly)?|prior|above|before|earlier|told|learned|learnt|instructions?|rules|training|said|know)\\b`
  ),
  r(
    'new-instructions',
    'injection',
    both('medium'),
    'announces new instructions for the model',
    `\\b(?:(?:new|updated|real|actual|true|revised|secret|hidden|special|override|system)${G}(?:system${G})?(?:instructions?|directives?|orders|objective|prompt)${OG}(?::|(?:are|is)${G}(?:as${G}follows|to)\\b)|your${G}(?:new|real|true|actual|only|primary|updated)${G}(?:instructions?|task|goal|purpose|objective|mission|directive)${G}(?:is|are)\\b)`
  ),
  r(
    'system-prompt-leak',
    'injection',
    both('high'),
    'asks the model to reveal its system prompt or instructions',
    `\\b(?:reveal|print|output|repeat|show|tell|send|include|leak|share|disclose|dump|display|copy)\\b${words(4)}${G}(?:your|the)${G}(?:(?:full|entire|complete|original|initial|hidden|secret)${G})?(?:system${G}prompt|system${G}message|initial${G}instructions|hidden${G}instructions|instructions${G}(?:above|you${G}were${G}given)|previous${G}instructions|(?:developer|pre-?prompt)${G}(?:message|instructions))\\b`
  ),

  // --- Hidden directive markup -------------------------------------------------------------
  r(
    'directive-tag',
    'injection',
    both('high'),
    'a directive tag addressed to the model (<IMPORTANT>, <SYSTEM>, ...)',
    `<\\s{0,3}/?\\s{0,3}(?:important|system|sys|system[_ -]?(?:prompt|message|instructions?|note|override)|inst|admin(?:istrator)?|hidden|secret|assistant[_ -]?(?:note|instructions?)|ai[_ -]?(?:note|instructions?)|note[_ -]?(?:to|for)[_ -]?(?:ai|the[_ -]?assistant|assistant|model|llm)|critical|urgent|mandatory|override|directive)\\s{0,3}>`
  ),
  r(
    'directive-tag',
    'injection',
    { definition: 'medium', content: false },
    'an instructions tag in a definition',
    `<\\s{0,3}/?\\s{0,3}(?:instructions?|prompt|context|rules)\\s{0,3}>`
  ),
  r(
    'directive-tag',
    'injection',
    both('high'),
    'a bracketed role marker ([SYSTEM], [INST])',
    `\\[\\s{0,2}/?(?:SYSTEM|INST|IMPORTANT|ADMIN|SYS|SYSTEM MESSAGE|SYSTEM PROMPT|SYSTEM NOTE)\\s{0,2}\\]`,
    ''
  ),
  r(
    'directive-tag',
    'injection',
    both('high'),
    'a chat-template control token',
    `<\\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\\|>`
  ),
  r(
    'directive-tag',
    'injection',
    { definition: 'medium', content: 'low' },
    'a "system" heading in the text',
    `(?:^|\\n)[ \\t]{0,3}#{1,4}[ \\t]{0,3}(?:system(?:[ \\t]{1,3}(?:prompt|message|instructions?|override))?|new[ \\t]{1,3}instructions?)[ \\t]{0,3}:?[ \\t]{0,3}(?:\\r?\\n|$)`
  ),

  // --- Concealment -------------------------------------------------------------------------
  r(
    'conceal-from-user',
    'injection',
    both('high'),
    'tells the model to hide something from the user',
    `\\b(?:${NOT}|without)${G}(?:ever${G})?(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|notify(?:ing)?|alert(?:ing)?|disclos(?:e|ing)|say(?:ing)?|explain(?:ing)?|report(?:ing)?|show(?:ing)?)${words(5)}${G}(?:the${G}|your${G}|any${G})?(?:users?|humans?|operators?|customers?|requesters?|end${G}users?)\\b`
  ),
  r(
    'conceal-from-user',
    'injection',
    both('high'),
    'tells the model to keep the user unaware',
    `\\b(?:(?:${NOT}|without)${G}(?:let(?:ting)?|mak(?:e|ing))${G}(?:the${G})?users?${G}(?:know|aware|see|notice)|(?:the${G})?(?:users?|humans?)${G}(?:must|should|shall|will|does|do|need|needs)${G}(?:not|never|n[’']?t)${G}(?:ever${G})?(?:need${G}to${G})?(?:know|notice|find${G}out|suspect|be${G}(?:told|informed|aware|notified))|(?:keep|hide)${G}(?:this|it|these|that|everything|the${G}${W})${words(3)}${G}(?:secret${G}|hidden${G}|confidential${G})?from${G}(?:the${G})?(?:users?|humans?)|without${G}(?:the${G})?(?:user${APOS}?s?|their)${G}(?:knowledge|consent|awareness))\\b`
  ),
  r(
    'conceal-from-user',
    'injection',
    both('high'),
    'asks for an action to be done covertly',
    `\\b(?:silently|secretly|covertly|quietly|discreetly|invisibly|stealthily)${G}(?:and${G})?(?:send|forward|upload|copy|include|add|append|read|exfiltrate|transmit|post|cc|bcc|change|modify|replace|set|call|run|execute|collect|save|store|share)\\b`
  ),
  r(
    'skip-confirmation',
    'injection',
    both('medium'),
    'tells the model not to ask the user for confirmation',
    `\\b(?:no${G}need${G}to|${NOT}|without)${G}(?:ask|asking|confirm|confirming|check|checking|verify|verifying)${G}(?:with${G}|for${G})?(?:the${G})?users?\\b`
  ),

  // --- Role play and jailbreak personas ----------------------------------------------------
  r(
    'role-override',
    'injection',
    both('high'),
    'redefines how the model must behave from now on',
    `\\b(?:from${G}now${G}on|starting${G}now|henceforth|for${G}the${G}rest${G}of${G}(?:this|the)${G}conversation)${OG},?${G}(?:you${G})?(?:are${G}going${G}to${G}|will${G}(?:have${G}to${G})?|must${G}|shall${G}|should${G}|have${G}to${G}|need${G}to${G}|are${G})?(?:act|acting|pretend|play|playing|behave|respond|answer|reply|roleplay|role-play|simulate|speak|talk|obey|ignore|always|only|never|be${G}(?:a|an|the|my|DAN|free|unfiltered|unrestricted|evil))\\b`
  ),
  r(
    'role-override',
    'injection',
    both('high'),
    'asks the model to adopt another persona',
    `\\b(?:you${G}(?:are${G}now|will${G}now|are${G}going${G}to|must${G}now|shall${G}now|will|must)${G}(?:act|pretend|roleplay|role-play|simulate|immerse)|(?:pretend|act|behave)${G}(?:to${G}be|as${G}if${G}you${G}(?:are|were)|like${G}you${G}(?:are|were)|as)${words(3)}${G}(?:${MODEL}|DAN|jailbroken|unfiltered|uncensored|unrestricted|amoral|evil)|immerse${G}yourself${G}(?:in|into)${G}(?:the${G})?role|stay${G}in${G}character)\\b`
  ),
  r(
    'jailbreak',
    'injection',
    both('high'),
    'a known jailbreak persona or trope',
    `\\b(?:do${G}anything${G}now|(?:DAN|STAN|DUDE|BetterDAN|Developer)${G}Mode${G}(?:enabled|activated|output|response)|(?:with|simulate|enable)${G}(?:DAN|developer)${G}mode|(?:have|has)${G}broken${G}free${G}of|confines${G}of${G}(?:AI|artificial${G}intelligence)|(?:do|does)${G}not${G}have${G}to${G}abide${G}by|not${G}bound${G}by${G}(?:any|the|its)${G}(?:rules|restrictions|guidelines|policies))\\b`
  ),
  r(
    'jailbreak',
    'injection',
    both('high'),
    'a jailbreak response marker',
    `\\[(?:🔓|🔒)?\\s{0,2}(?:GPT|DAN|JAILBREAK|CLASSIC|STAN|DUDE)\\s{0,2}\\]`,
    ''
  ),
  r(
    'jailbreak',
    'injection',
    { definition: 'medium', content: false },
    'mentions jailbreaking',
    `\\b(?:jailbreak|jailbroken)\\b`
  ),
  r(
    'hijack-output',
    'injection',
    { definition: 'high', content: 'medium' },
    'tells the model to output fixed text',
    `\\b(?:(?:just|only|simply|instead)${G}(?:print|say|output|respond${G}with|reply${G}with|repeat)${OG}[:"“'‘]|(?:print|say|output|repeat)${G}(?:exactly|verbatim|only)${OG}[:"“'‘])`
  ),
  r(
    'hijack-output',
    'injection',
    both('high'),
    'an attempt to stop the current task',
    `\\bstop${G}everything\\b`
  ),

  // --- Text in data addressed to the model -------------------------------------------------
  r(
    'addressed-to-model',
    'injection',
    both('high'),
    'text addressed to an AI reading it',
    `\\b(?:if${G}you${G}are${G}(?:an?${G})?${MODEL}|${MODEL_OR_ASSISTANT}${G}(?:that${G}(?:is|are)${G})?(?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|reviewing|scanning|ingesting|browsing)${G}(?:this|these|the${G}(?:above|following)))\\b`
  ),
  r(
    'addressed-to-model',
    'injection',
    both('medium'),
    'a note addressed to the AI',
    `\\b(?:dear|hey|hi|hello|attention|note${G}(?:to|for)|message${G}(?:to|for)|instructions?${G}(?:to|for)|reminder${G}(?:to|for)|important${G}(?:note${G})?(?:to|for)|P\\.?S\\.?${G}(?:to|for))${HG}(?:the${HG}|any${HG}|all${HG})?${MODEL_OR_ASSISTANT}(?:${G}(?:reading|processing|summari[sz]ing)${G}(?:this|these)(?:${G}\\w{1,20})?)?${OG}[:,!—–-]`
  ),
  r(
    'addressed-to-model',
    'injection',
    both('medium'),
    'a command addressed to the AI',
    `(?:(?:^|[\\n.!?]\\s{0,4})${MODEL_OR_ASSISTANT}${OG},${OG}(?:please${G})?|\\b${MODEL_OR_ASSISTANT}${G}(?:must|should|shall|need${G}to|are${G}(?:required|instructed)${G}to)${G}(?:always${G}|now${G}|also${G})?)(?:ignore|disregard|always|never|make${G}sure|remember|send|include|add|append|forward|execute|call|read|open|respond|reply|output|print|say|write|insert|tell|do${G}not|don[’']?t|stop|instead|first|use|visit|download|recommend|mention|delete|transfer|direct|promote)\\b`
  ),
  r(
    'response-manipulation',
    'injection',
    both('medium'),
    'tells the model how to write its response',
    `(?:(?:^|[\\n.!?:;"“'‘>(]\\s{0,4})|\\b(?:please|also|now|and|then|kindly|simply|just)${G}|(\\s{1,4}))(?:${OUTPUT_VERBS}\\b${sentence(140)}\\b${YOUR_OUTPUT}|(?:in|within|throughout|at${G}the${G}(?:end|start|beginning)${G}of)${G}${YOUR_OUTPUT})`,
    'i',
    responseCheck
  ),
  r(
    'code-insertion',
    'injection',
    both('low'),
    'asks for a block of code to be added to the answer',
    `\\b(?:following|subsequent|below)${G}(?:code|script|snippet|command)(?:${G}(?:block|snippet|excerpt|section|fragment|segment|sample|lines?))?\\b`,
    'i',
    codeInsertionCheck
  ),

  // --- Secret files and exfiltration -------------------------------------------------------
  r(
    'sensitive-file-read',
    'exfiltration',
    { definition: 'high', content: 'low' },
    'tells the model to read a secret file (SSH keys, .env, credentials)',
    `(?:${STRONG_MARKER}${sentence(60)}\\b(?:${READ_VERBS}|${SEND_VERBS})|(?:^|[\\n.!?:;>(\\]"“]\\s{0,4})${SEND_VERBS})\\b${sentence(80)}${SENSITIVE_PATH}`
  ),
  r(
    'sensitive-file-read',
    'exfiltration',
    { definition: 'medium', content: false },
    'refers to the contents of a secret file',
    `\\bcontents?${G}(?:of|in)${G}[\`'"]?[\\w~$%./ -]{0,80}?${SENSITIVE_PATH}`
  ),
  r(
    'exfil-url',
    'exfiltration',
    { definition: 'high', content: 'medium' },
    'asks for data to be sent to a URL',
    `\\b${EXFIL_VERBS}\\b${sentence(140)}\\b(?:to|at|into|via|using)${G}(?:[^\\s.,]{0,30}${G}){0,3}[<(\\["'\`]?(?:https?|ftp|wss?)://`,
    'i',
    exfilUrlCheck
  ),
  r(
    'markdown-image-exfil',
    'exfiltration',
    both('high'),
    'a markdown image whose URL would carry data out when rendered',
    `!\\[[^\\]\\n]{0,200}\\]\\(\\s{0,2}(?:https?:)?//[^)\\s]{1,500}\\)`,
    'i',
    markdownImageCheck
  ),
  r(
    'exfil-parameter',
    'exfiltration',
    { definition: 'high', content: 'medium' },
    'asks for secret data to be put into a tool parameter',
    `\\b(?:include|put|pass|append|add|insert|embed|copy|attach|paste|place|provide|send|supply|set|fill|write|store|encode|hide)\\b${sentence(140)}(?:\\b(?:parameter|param|argument|arg|field|property|input|variable|query${G}string)\\b|\\bas${G}(?:the${G})?[\`'"][\\w-]{1,40}[\`'"])`,
    'i',
    needsSensitiveData
  ),
  r(
    'exfil-parameter',
    'exfiltration',
    { definition: 'high', content: 'medium' },
    'says a parameter must carry secret data',
    `\\b(?:parameter|param|argument|field)\\b${sentence(40)}\\b(?:must|should|shall|will)${G}(?:always${G})?(?:contain|include|hold|be${G}set${G}to|carry)\\b${sentence(100)}`,
    'i',
    needsSensitiveData
  ),
  r(
    'param-override',
    'exfiltration',
    { definition: 'high', content: 'medium' },
    'tells the model to send calls to a fixed recipient or account',
    `\\b(?:always|instead|regardless|must|should|make${G}sure${G}to|be${G}sure${G}to|remember${G}to|secretly|silently|also)\\b${sentence(100)}\\b(?:set|change|replace|override|send|cc|bcc|forward|redirect|route|copy|add|include|transfer|pay|go)\\b${sentence(80)}${RECIPIENT}`,
    'i',
    targetNotExample
  ),
  r(
    'param-override',
    'exfiltration',
    { definition: 'high', content: 'medium' },
    'tells the model to send data to a fixed URL',
    `\\b(?:always|instead|regardless|must|should|make${G}sure${G}to|be${G}sure${G}to|remember${G}to|secretly|silently|also)\\b${sentence(100)}\\b(?:send|forward|redirect|route|post|upload|copy|cc|bcc)\\b${sentence(80)}https?://[\\w-]{1,63}\\.[\\w.-]{2,100}`,
    'i',
    targetNotExample
  ),
  r(
    'param-override',
    'exfiltration',
    { definition: 'high', content: 'medium' },
    'tells the model to use a fixed address instead of the one the user gave',
    `\\b(?:use|send|route|redirect|forward|transfer|pay|cc|bcc|set)\\b${sentence(40)}${TARGET}${sentence(80)}\\b(?:instead${G}of|rather${G}than|regardless${G}of|no${G}matter)\\b${sentence(40)}\\b(?:user|provided|given|specified|requested|asked|entered)\\b`,
    'i',
    targetNotExample
  ),
  r(
    'param-override',
    'exfiltration',
    { definition: 'high', content: 'medium' },
    'says all messages or payments must go to another destination',
    `\\b(?:all|every|any)${G}(?:outgoing${G}|future${G}|other${G})?(?:emails?|messages?|payments?|transfers?|requests?|calls?|invoices?|funds?|files?|data|results?|reports?)${G}(?:must|should|shall|will|need${G}to|have${G}to)${G}(?:also${G})?(?:be${G})?(?:sent|forwarded|cc[’']?d|bcc[’']?d|copied|routed|redirected|go|uploaded|transferred|delivered)${G}(?:also${G})?(?:to|via|through)\\b`
  ),
  r(
    'param-override',
    'exfiltration',
    { definition: 'medium', content: false },
    'tells the model to change where a call goes',
    `\\b(?:change|replace|override|switch)${G}(?:the${G})?[\`'"]?(?:recipients?|to|cc|bcc|email|address|destination|account(?:_?(?:id|number))?|iban|wallet|amount|url|endpoint|webhook|host|target|phone|channel|repo(?:sitory)?|owner|bank)[\`'"]?${G}(?:parameter${G}|param${G}|argument${G}|field${G}|value${G}|address${G})?(?:to|with|into)${G}`
  ),

  // --- Steering other tools (shadowing) ----------------------------------------------------
  r(
    'cross-tool-directive',
    'shadowing',
    { definition: 'medium', content: false },
    'gives instructions for calling another tool',
    `\\b(?:when(?:ever)?|before|after|each${G}time|every${G}time|if|while)${G}(?:you${G}(?:are${G})?)?${CALL}${G}(?:the${G}|another${G}|a${G})?${NAME}(?:${G}(?:tool|function|method|command|server|endpoint))?${OG},?${G}(?:you${G}(?:must|should|need${G}to)${G}|make${G}sure${G}(?:to${G})?|be${G}sure${G}(?:to${G})?|remember${G}to${G}|please${G})?${DIRECTIVE}\\b`,
    'i',
    namesAnotherTool
  ),
  r(
    'cross-tool-directive',
    'shadowing',
    { definition: 'high', content: 'medium' },
    'gives instructions that apply to every other tool',
    `\\b(?:(?:when(?:ever)?|before|after|each${G}time|every${G}time|if|while)${G}(?:you${G}(?:are${G})?)?${CALL}${G}(?:any|all|every|other|another)${G}(?:other${G})?(?:tools?|functions?|servers?)|for${G}(?:all|every|any)${G}(?:other${G})?(?:tools?|tool${G}calls?|functions?)${OG},)`
  ),
  r(
    'tool-override',
    'shadowing',
    { definition: 'high', content: false },
    'claims to replace or override other tools',
    `\\b(?:this${G}tool|it)${G}(?:replaces|overrides|supersedes|takes${G}precedence${G}over|must${G}be${G}used${G}instead${G}of|should${G}be${G}used${G}instead${G}of)\\b`
  ),
  r(
    'tool-override',
    'shadowing',
    { definition: 'medium', content: false },
    'tells the model not to use another tool',
    `\\b(?:instead${G}of${G}(?:using${G}|calling${G})?(?:the${G})?|${NOT}${G}(?:use|call|invoke|trust)${G}(?:the${G}|any${G}other${G}|other${G})?)${NAME}${G}(?:tools?|functions?|servers?)\\b`,
    'i',
    namesAnotherTool
  )
];

/**
 * Rules that decide on their own in content: structural, not phrasing (an image that a renderer
 * fetches with data in its URL is exfiltration whatever the words around it).
 */
export const DECIDING_CONTENT_RULES: ReadonlySet<string> = new Set(['markdown-image-exfil']);
// They search every text whole (the others, only the window that explains a verdict).
compileAhead(RULES.filter((r) => DECIDING_CONTENT_RULES.has(r.rule)).map((r) => r.re));

/** Apply every phrase rule (or only those named in `only`) to `text`. */
export function scanInjection(
  text: string,
  mode: TextMode,
  out: Finding[] = [],
  only?: ReadonlySet<string>
): Finding[] {
  for (const rule of RULES) {
    if (only !== undefined && !only.has(rule.rule)) continue;
    const base = rule.severity[mode];
    if (base === false) continue;
    eachMatch(rule.re, text, (m) => {
      const checked = rule.check ? rule.check(m, text, mode) : undefined;
      if (checked === false) return m.index + 1;
      const severity = checked ?? base;
      // Report the phrase itself, not the sentence delimiter a pattern may have consumed first.
      let start = m.index;
      const lead = /^[\s\n.!?:;>(\]"“'‘]{1,6}/.exec(m[0]);
      if (lead && lead[0].length < m[0].length) start += lead[0].length;
      out.push({
        kind: rule.kind,
        rule: rule.rule,
        severity,
        message: rule.message,
        start,
        end: m.index + m[0].length
      });
      return undefined;
    });
  }
  return out;
}
