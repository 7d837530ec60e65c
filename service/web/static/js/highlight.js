// Highlights the model's top features in a comment, building text nodes and <mark>
// elements only: the comment is always text, never parsed as HTML.
//
// Feature names come from the scorer: a quoted word or phrase of the comment ('zalo',
// 'nghị tòa') or a plain signal name such as "phone number". Matching folds case and
// diacritics so that 'zalo' marks "Zálo" in the original text, and every mark is widened
// to whole words: a moderator never sees a mark that starts or ends inside a word.

function foldChar(ch) {
  return ch.normalize("NFD").replace(/\p{M}/gu, "").replace(/đ/g, "d").replace(/Đ/g, "d").toLowerCase();
}

// Folded text plus, for every folded UTF-16 unit, the index of the original unit it came from.
function fold(text) {
  let folded = "";
  const origin = [];
  let offset = 0;
  for (const ch of text) {
    const f = foldChar(ch);
    for (let i = 0; i < f.length; i += 1) origin.push(offset);
    folded += f;
    offset += ch.length;
  }
  origin.push(offset);
  return { folded, origin };
}

// Signals (named features without quotes) that point at spans of the text.
const SIGNAL_PATTERNS = [
  ["phone number", /\+?\d[\d .\-]{6,}\d/gu],
  ["several phone numbers", /\+?\d[\d .\-]{6,}\d/gu],
  ["link", /(?:https?:\/\/|www\.)\S+?(?=[.,;:!?)\]]*(?:\s|$))/giu],
  ["several links", /(?:https?:\/\/|www\.)\S+?(?=[.,;:!?)\]]*(?:\s|$))/giu],
  ["short link", /(?:https?:\/\/)?(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl|shorturl\.at)\/\S*/giu],
  ["contact handle", /\b(?:zalo|zl|telegram|tele|viber|hotline|inbox|ib|sđt|sdt)\b/giu],
  ["@handle", /(?<!\w)@[a-z0-9_.]{3,}/giu],
  ["money amount", /\d[\d.,]*\s?(?:k|tr|triệu|trieu|tỷ|ty|đ|vnđ|vnd|usd|\$)(?![\p{L}])/giu],
];

function signalRanges(text, features) {
  const found = [];
  for (const f of features) {
    if (f.weight <= 0 || f.feature.startsWith("'")) continue;
    for (const [prefix, pattern] of SIGNAL_PATTERNS) {
      if (!f.feature.startsWith(prefix)) continue;
      for (const m of text.matchAll(pattern)) found.push([m.index, m.index + m[0].length]);
    }
  }
  return found;
}

export function featureTerm(name) {
  const quoted = /^'(.*)'$/su.exec(name);
  if (!quoted) return null;
  const term = quoted[1].trim();
  if (term.length < 2) return null;
  return fold(term).folded;
}

const WORD_UNIT = /[\p{L}\p{N}\p{M}_]/u;

// [start, end) widened so that it neither starts nor ends inside a word.
export function wholeWords(text, start, end) {
  let from = start;
  let to = end;
  while (from > 0 && WORD_UNIT.test(text[from - 1])) from -= 1;
  while (to < text.length && WORD_UNIT.test(text[to])) to += 1;
  return [from, to];
}

// Whole-word ranges of every group's terms and signals, overlaps merged: [start, end, kinds].
function ranges(text, groups) {
  const { folded, origin } = fold(text);
  const found = [];
  for (const { kind, terms, extra } of groups) {
    for (const [start, end] of extra) found.push([...wholeWords(text, start, end), kind]);
    for (const term of terms) {
      let at = folded.indexOf(term);
      while (at !== -1) {
        const end = at + term.length;
        // Names are whole words: 'hi' must not mark the inside of "nghị".
        const bounded = (at === 0 || !WORD_UNIT.test(folded[at - 1])) && (end === folded.length || !WORD_UNIT.test(folded[end]));
        if (bounded) found.push([...wholeWords(text, origin[at], origin[end]), kind]);
        at = folded.indexOf(term, at + 1);
      }
    }
  }
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged = [];
  for (const [start, end, kind] of found) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) {
      last[1] = Math.max(last[1], end);
      last[2].add(kind);
    } else merged.push([start, end, new Set([kind])]);
  }
  return merged;
}

function group(kind, text, features) {
  const terms = [...new Set(features.filter((f) => f.weight > 0).map((f) => featureTerm(f.feature)).filter(Boolean))];
  return { kind, terms, extra: signalRanges(text, features) };
}

/** Fill `element` with `text`, wrapping matches of the features' terms in <mark>: the spam
 * model's features as <mark class="spam">, the toxicity model's as <mark class="toxicity">
 * and what a site rule found (a listed word, the links) as <mark class="rule">, so a
 * moderator sees what each marked word pushed. */
export function renderHighlighted(element, text, features, { toxicity = [], rules = [] } = {}) {
  element.replaceChildren();
  let cursor = 0;
  const groups = [group("spam", text, features), group("toxicity", text, toxicity), group("rule", text, rules)];
  for (const [start, end, kinds] of ranges(text, groups)) {
    if (start > cursor) element.append(document.createTextNode(text.slice(cursor, start)));
    const mark = document.createElement("mark");
    mark.className = [...kinds].sort().join(" ");
    mark.textContent = text.slice(start, end);
    element.append(mark);
    cursor = end;
  }
  if (cursor < text.length) element.append(document.createTextNode(text.slice(cursor)));
}
