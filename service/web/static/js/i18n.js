// Interface strings in Vietnamese and English. Vietnamese is the default when the
// browser asks for it; the choice is remembered in localStorage.

const STRINGS = {
  vi: {
    title: "Kiểm duyệt bình luận",
    skip: "Bỏ qua, tới hàng đợi",
    site: "Trang",
    signIn: "Đăng nhập",
    signInTitle: "Đăng nhập",
    signOut: "Đăng xuất",
    tokenLabel: "Mã kiểm duyệt viên",
    tokenHelp: "Mã bắt đầu bằng mt-. Mã không bao giờ nằm trong địa chỉ trang.",
    badToken: "Mã không hợp lệ hoặc đã bị thu hồi.",
    sessionEnded: "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.",
    queues: "Hàng đợi",
    pending: "Chờ duyệt",
    spam: "Spam",
    approved: "Đã duyệt",
    rejected: "Đã từ chối",
    filterPost: "Bài viết (mã hoặc URL)",
    filterReason: "Lý do",
    allReasons: "Tất cả lý do",
    sort: "Sắp xếp",
    sortNewest: "Mới nhất trước",
    sortOldest: "Cũ nhất trước",
    sortScore: "Điểm spam cao nhất",
    bulk: "Thao tác hàng loạt",
    selectAll: "Chọn tất cả",
    selected: (n) => `Đã chọn ${n}`,
    approveSelected: "Duyệt mục đã chọn",
    rejectSelected: "Từ chối mục đã chọn",
    spamSelected: "Đánh dấu spam",
    claimMore: "Nhận thêm bình luận",
    refresh: "Tải lại",
    filtersToggle: "Bộ lọc",
    bulkToggle: "Chọn nhiều",
    loadMore: "Tải thêm",
    empty: "Không có bình luận nào.",
    newItems: (n) => `Có ${n} thay đổi mới trong hàng đợi — bấm Tải lại.`,
    select: "Chọn",
    approve: "Duyệt",
    reject: "Từ chối",
    markSpam: "Spam",
    block: "Chặn…",
    article: "Bài viết",
    email: "Email",
    ip: "IP",
    spamScore: "Điểm spam",
    toxicity: "Độc hại",
    reasons: "Lý do giữ lại",
    features: "Dấu hiệu của mô hình",
    spamSignals: "Dấu hiệu spam",
    toxicitySignals: "Dấu hiệu độc hại",
    heldByYou: "Bạn đang giữ",
    heldBy: (who) => `Đang được ${who} xử lý`,
    decidedBy: (who, status) => `${status} bởi ${who}`,
    rejectTitle: "Từ chối bình luận",
    blockTitle: "Spam và chặn tác giả",
    reasonLegend: (n) => `Lý do (phím 1–${n})`,
    chooseReason: "Hãy chọn một lý do.",
    blockLegend: "Chặn tác giả",
    blockEmail: "Chặn email này",
    blockIp: "Chặn IP này",
    cancel: "Hủy",
    confirmReject: "Xác nhận",
    close: "Đóng",
    undo: "Hoàn tác (u)",
    done: {
      approve: (n) => `Đã duyệt ${n} bình luận.`,
      reject: (n) => `Đã từ chối ${n} bình luận.`,
      spam: (n) => `Đã đánh dấu spam ${n} bình luận.`,
    },
    saved: "Đã lưu.",
    undone: "Đã hoàn tác.",
    failed: (msg) => `Không lưu được: ${msg}`,
    heldByOther: (who) => `Bình luận này đang được ${who} xử lý.`,
    undoing: "Đang hoàn tác…",
    conflict: (n) =>
      n > 1
        ? `Không lưu ${n} bình luận: đã có người quyết định trước. Trang đang hiện trạng thái mới nhất của chúng.`
        : "Không lưu: bình luận đã được quyết định trước. Trang đang hiện trạng thái mới nhất của nó.",
    conflictNote: (who, status) => `${who} vừa quyết định bình luận này: ${status}. Hãy xem lại trước khi quyết định.`,
    historyTitle: (n) => `Lịch sử quyết định (${n})`,
    actors: { auto: "Tự động", recheck: "Mô hình chấm lại" },
    viaNames: {
      submit: "khi gửi",
      recheck: "chấm lại",
      api: "API",
      page: "trang kiểm duyệt",
      akismet: "Akismet",
    },
    notOffered: (status) => `Không áp dụng: bình luận đã ở mục “${status}”.`,
    helpTitle: "Phím tắt",
    keys: [
      ["j / k", "Bình luận tiếp theo / trước"],
      ["a", "Duyệt"],
      ["r", "Từ chối (chọn lý do)"],
      ["s", "Đánh dấu spam"],
      ["b", "Spam và chặn email/IP"],
      ["x", "Chọn / bỏ chọn"],
      ["u", "Hoàn tác thao tác vừa rồi"],
      ["?", "Hiện trợ giúp này"],
    ],
    rejectReasons: {
      spam: "Spam",
      advertising: "Quảng cáo",
      offensive: "Xúc phạm",
      hate_speech: "Ngôn từ thù ghét",
      harassment: "Quấy rối",
      off_topic: "Lạc đề",
      other: "Khác",
    },
    stats: "Thống kê",
    statsTitle: "Thống kê",
    statsDays: "Khoảng thời gian",
    daysOption: (n) => `${n} ngày gần nhất`,
    stat_submitted: "Bình luận nhận được",
    stat_spamShare: "Tỷ lệ spam tự động",
    stat_decided: "Quyết định của người kiểm duyệt",
    stat_pending: "Đang chờ duyệt",
    stat_oldest: "Chờ lâu nhất",
    stat_p50: "Thời gian đến khi có quyết định (trung vị)",
    stat_p90: "Thời gian đến khi có quyết định (90%)",
    statsDay: "Ngày",
    statsSubmitted: "Nhận được",
    statsDecided: "Đã quyết định",
    statsDailyTitle: "Bình luận mỗi ngày, theo kết quả tự động",
    statsDailyTable: "Số bình luận mỗi ngày",
    statsShowTable: "Xem bảng số liệu",
    statsReasonsTitle: "Lý do thường gặp",
    statsReasonsTable: "Số bình luận theo lý do",
    statsCount: "Số lượng",
    statsNone: "Chưa có dữ liệu.",
    statsWaitTitle: "Thời gian từ lúc gửi đến khi người kiểm duyệt quyết định",
    statsWaitTable: "Số quyết định theo thời gian chờ",
    statsWaitBucket: "Thời gian chờ",
    statsFailed: (msg) => `Không tải được thống kê: ${msg}`,
    unitSeconds: (v) => `${v} giây`,
    unitMinutes: (v) => `${v} phút`,
    unitHours: (v) => `${v} giờ`,
    unitDays: (v) => `${v} ngày`,
    reasonsByStatus: {
      pending: "Lý do giữ lại",
      spam: "Lý do đánh dấu spam",
      approved: "Lý do duyệt tự động",
      rejected: "Lý do từ chối tự động",
    },
    reasonDetails: {
      too_many_links: (p, n) => `${p.links} liên kết; bình luận có hơn ${p.max} liên kết được giữ lại để duyệt`,
      spam_score_uncertain: (p, n) => `điểm spam ${n(p.score)} nằm giữa ${n(p.low)} và ${n(p.high)}`,
      spam_score: (p, n) => `điểm spam ${n(p.score)} từ ngưỡng ${n(p.threshold)} trở lên`,
      low_spam_score: (p, n) => `điểm spam ${n(p.score)} dưới ${n(p.threshold)}`,
      trusted_author: (p, n) => `điểm spam ${n(p.score)} lẽ ra bị giữ lại, nhưng tác giả đã có bình luận được duyệt trên trang này`,
      offensive: (p, n) => `xác suất xúc phạm ${n(p.probability)} từ ngưỡng ${n(p.threshold)} trở lên`,
      hate_speech: (p, n) => `xác suất thù ghét ${n(p.probability)} từ ngưỡng ${n(p.threshold)} trở lên`,
      moderation_word: (p) => `${tx("fieldNames", p.field)} có từ cần duyệt “${p.word}”`,
      disallowed_word: (p) => `${tx("fieldNames", p.field)} có từ bị cấm “${p.word}”`,
      blocked_email: () => "email của tác giả nằm trong danh sách chặn của trang",
      blocked_email_domain: (p) => `tên miền email ${p.domain} nằm trong danh sách chặn của trang`,
      blocked_ip: (p) => `địa chỉ IP thuộc dải bị chặn ${p.network}`,
      pre_moderation: () => "trang giữ lại mọi bình luận để duyệt",
      first_comment: () => "tác giả chưa có bình luận nào được duyệt trên trang này",
      campaign: (p) => `cùng một nội dung được đăng ${p.count} lần trên trang trong ${p.minutes} phút`,
      shadow_mode: (p) => `chế độ theo dõi: quy tắc quyết định “${tx("statusNames", p.status)}”, nhưng trả lời “Chờ duyệt”`,
      flood: (p) => `quá nhiều bình luận từ ${p.who === "ip" ? "địa chỉ IP này" : "địa chỉ email này"}; thử lại sau ${p.retry_seconds} giây`,
      duplicate: () => "tác giả đã đăng đúng bình luận này trong bài viết",
      personal_data: (p) => `bình luận để lộ thông tin cá nhân (${String(p.kinds).split(",").map((k) => tx("personalKinds", k)).join(", ")})`,
      reputation: (p) =>
        `${tx("reputationKinds", p.kind)}${p.domain ? ` ${p.domain}` : ""} đã bị đánh dấu ${p.direction === "spam" ? "spam" : "không phải spam"} ${p.count} lần ${p.sites > 1 ? `trên ${p.sites} trang` : "trên trang này"}`,
    },
    reputationKinds: {
      domain: "tên miền",
      phone: "số điện thoại",
      handle: "tài khoản nhắn tin",
      email: "địa chỉ email",
      network: "dải địa chỉ IP",
    },
    personalKinds: {
      identity_number: "số CCCD/CMND",
      bank_account: "số tài khoản ngân hàng",
      own_phone_number_or_email: "số điện thoại hoặc email của người viết",
    },
    fieldNames: {
      author_name: "Tên tác giả",
      author_email: "Email tác giả",
      author_url: "Trang web tác giả",
      content: "Nội dung",
      user_ip: "IP",
      user_agent: "Trình duyệt",
    },
    // The scorer's signal names (service/scoring/features.py SIGNAL_NAMES, "other wording").
    signals: {
      "phone number": "số điện thoại",
      "several phone numbers": "nhiều số điện thoại",
      link: "liên kết",
      "several links": "nhiều liên kết",
      "short link": "liên kết rút gọn",
      "contact handle (Zalo/Telegram/hotline…)": "kênh liên hệ (Zalo/Telegram/hotline…)",
      "@handle": "@tài khoản",
      "invisible characters": "ký tự ẩn",
      "look-alike / spelled-out letters": "chữ giả dạng / đánh vần",
      "many digits": "nhiều chữ số",
      "mostly capitals": "phần lớn là chữ in hoa",
      "repeated words": "từ lặp lại",
      "money amount": "số tiền",
      "comment length": "độ dài bình luận",
      "very short comment": "bình luận rất ngắn",
      "emoji-heavy": "nhiều emoji",
      "no Vietnamese diacritics": "không dấu tiếng Việt",
      "author name/URL has link or phone": "tên/URL tác giả có liên kết hoặc số điện thoại",
      "other wording": "cách diễn đạt khác",
      // The whole-submission signals (service/scoring/submission.py SIGNAL_NAMES) and reputation.
      "author website given": "tác giả có ghi trang web",
      "links to another site": "có liên kết tới trang khác",
      "email domain is the linked site": "tên miền email trùng trang được liên kết",
      "SEO-style author name": "tên tác giả kiểu quảng cáo (SEO)",
      "non-browser user agent": "gửi không qua trình duyệt",
      "sent from another site": "gửi từ trang web khác",
      "moderators' decisions on its links and contacts": "quyết định trước đây của kiểm duyệt viên về liên kết và liên hệ này",
    },
    reasonCodes: {
      too_many_links: "Quá nhiều liên kết",
      spam_score_uncertain: "Điểm spam không chắc chắn",
      spam_score: "Điểm spam cao",
      low_spam_score: "Điểm spam thấp",
      trusted_author: "Tác giả đã được tin cậy",
      offensive: "Ngôn từ xúc phạm",
      hate_speech: "Ngôn từ thù ghét",
      moderation_word: "Có từ cần duyệt",
      disallowed_word: "Có từ bị cấm",
      blocked_email: "Email bị chặn",
      blocked_email_domain: "Tên miền email bị chặn",
      blocked_ip: "IP bị chặn",
      pre_moderation: "Duyệt trước mọi bình luận",
      first_comment: "Bình luận đầu tiên của tác giả",
      campaign: "Chiến dịch spam lặp lại",
      personal_data: "Lộ thông tin cá nhân",
      shadow_mode: "Chế độ theo dõi (chưa áp dụng)",
      flood: "Gửi quá dồn dập",
      duplicate: "Bình luận trùng lặp",
      reputation: "Đã bị kiểm duyệt viên đánh giá",
    },
    statusNames: { pending: "Chờ duyệt", approved: "Đã duyệt", spam: "Spam", rejected: "Đã từ chối" },
    toxLabels: { CLEAN: "Sạch", OFFENSIVE: "Xúc phạm", HATE: "Thù ghét" },
    otherLang: "English",
    otherLangCode: "en",
  },
  en: {
    title: "Comment moderation",
    skip: "Skip to the queue",
    site: "Site",
    signIn: "Sign in",
    signInTitle: "Sign in",
    signOut: "Sign out",
    tokenLabel: "Moderator token",
    tokenHelp: "It starts with mt-. The token never appears in the page address.",
    badToken: "Unknown or revoked token.",
    sessionEnded: "Your session has ended. Please sign in again.",
    queues: "Queues",
    pending: "Pending",
    spam: "Spam",
    approved: "Approved",
    rejected: "Rejected",
    filterPost: "Article (id or URL)",
    filterReason: "Reason",
    allReasons: "All reasons",
    sort: "Sort",
    sortNewest: "Newest first",
    sortOldest: "Oldest first",
    sortScore: "Highest spam score",
    bulk: "Bulk actions",
    selectAll: "Select all",
    selected: (n) => `${n} selected`,
    approveSelected: "Approve selected",
    rejectSelected: "Reject selected",
    spamSelected: "Mark selected as spam",
    claimMore: "Claim more",
    refresh: "Refresh",
    filtersToggle: "Filters",
    bulkToggle: "Select several",
    loadMore: "Load more",
    empty: "No comments here.",
    newItems: (n) => `${n} new change(s) in this queue — press Refresh.`,
    select: "Select",
    approve: "Approve",
    reject: "Reject",
    markSpam: "Spam",
    block: "Block…",
    article: "Article",
    email: "Email",
    ip: "IP",
    spamScore: "Spam score",
    toxicity: "Toxicity",
    reasons: "Held because",
    features: "Model signals",
    spamSignals: "Spam signals",
    toxicitySignals: "Toxicity signals",
    heldByYou: "Held by you",
    heldBy: (who) => `Held by ${who}`,
    decidedBy: (who, status) => `${status} by ${who}`,
    rejectTitle: "Reject comment",
    blockTitle: "Spam and block the author",
    reasonLegend: (n) => `Reason (keys 1–${n})`,
    chooseReason: "Choose a reason.",
    blockLegend: "Block the author",
    blockEmail: "Block this email",
    blockIp: "Block this IP",
    cancel: "Cancel",
    confirmReject: "Confirm",
    close: "Close",
    undo: "Undo (u)",
    done: {
      approve: (n) => `Approved ${n} comment(s).`,
      reject: (n) => `Rejected ${n} comment(s).`,
      spam: (n) => `Marked ${n} comment(s) as spam.`,
    },
    saved: "Saved.",
    undone: "Undone.",
    failed: (msg) => `Not saved: ${msg}`,
    heldByOther: (who) => `${who} is working on this comment.`,
    undoing: "Undoing…",
    conflict: (n) =>
      n > 1
        ? `${n} comments not saved: someone decided them first. They now show their current state.`
        : "Not saved: someone decided this comment first. It now shows its current state.",
    conflictNote: (who, status) => `${who} has just decided this comment: ${status}. Check it again before deciding.`,
    historyTitle: (n) => `Decision history (${n})`,
    actors: { auto: "Automatic", recheck: "Model recheck" },
    viaNames: {
      submit: "on submission",
      recheck: "recheck",
      api: "API",
      page: "moderator page",
      akismet: "Akismet",
    },
    notOffered: (status) => `Not available: the comment is already “${status}”.`,
    helpTitle: "Keyboard shortcuts",
    keys: [
      ["j / k", "Next / previous comment"],
      ["a", "Approve"],
      ["r", "Reject (pick a reason)"],
      ["s", "Mark as spam"],
      ["b", "Spam and block email/IP"],
      ["x", "Select / unselect"],
      ["u", "Undo the last action"],
      ["?", "Show this help"],
    ],
    rejectReasons: {
      spam: "Spam",
      advertising: "Advertising",
      offensive: "Offensive",
      hate_speech: "Hate speech",
      harassment: "Harassment",
      off_topic: "Off-topic",
      other: "Other",
    },
    stats: "Stats",
    statsTitle: "Stats",
    statsDays: "Period",
    daysOption: (n) => `Last ${n} days`,
    stat_submitted: "Comments received",
    stat_spamShare: "Automatic spam share",
    stat_decided: "Moderator decisions",
    stat_pending: "Pending now",
    stat_oldest: "Oldest pending",
    stat_p50: "Time to decision (median)",
    stat_p90: "Time to decision (90th percentile)",
    statsDay: "Day",
    statsSubmitted: "Received",
    statsDecided: "Decided",
    statsDailyTitle: "Comments per day, by automatic outcome",
    statsDailyTable: "Comments per day",
    statsShowTable: "Show the figures",
    statsReasonsTitle: "Most frequent reasons",
    statsReasonsTable: "Comments by reason",
    statsCount: "Count",
    statsNone: "No data yet.",
    statsWaitTitle: "Time from submission to a moderator's decision",
    statsWaitTable: "Decisions by waiting time",
    statsWaitBucket: "Waiting time",
    statsFailed: (msg) => `Could not load the stats: ${msg}`,
    unitSeconds: (v) => `${v} s`,
    unitMinutes: (v) => `${v} min`,
    unitHours: (v) => `${v} h`,
    unitDays: (v) => `${v} days`,
    reasonsByStatus: {
      pending: "Held because",
      spam: "Filed as spam because",
      approved: "Approved automatically because",
      rejected: "Rejected automatically because",
    },
    reasonDetails: {
      too_many_links: (p) => `${p.links} links; comments with more than ${p.max} are held for review`,
      spam_score_uncertain: (p, n) => `spam score ${n(p.score)} is between ${n(p.low)} and ${n(p.high)}`,
      spam_score: (p, n) => `spam score ${n(p.score)} is at or above ${n(p.threshold)}`,
      low_spam_score: (p, n) => `spam score ${n(p.score)} is below ${n(p.threshold)}`,
      trusted_author: (p, n) => `spam score ${n(p.score)} would be held, but the author has an approved comment on this site`,
      offensive: (p, n) => `offensive probability ${n(p.probability)} is at or above ${n(p.threshold)}`,
      hate_speech: (p, n) => `hate speech probability ${n(p.probability)} is at or above ${n(p.threshold)}`,
      moderation_word: (p) => `${tx("fieldNames", p.field)} contains the moderation word “${p.word}”`,
      disallowed_word: (p) => `${tx("fieldNames", p.field)} contains the disallowed word “${p.word}”`,
      blocked_email: () => "the author's email is on the site's block list",
      blocked_email_domain: (p) => `the email domain ${p.domain} is on the site's block list`,
      blocked_ip: (p) => `the IP address is in the blocked range ${p.network}`,
      pre_moderation: () => "the site holds every comment for review",
      first_comment: () => "the author has no approved comment on this site yet",
      campaign: (p) => `the same text was posted ${p.count} times on this site within ${p.minutes} minutes`,
      shadow_mode: (p) => `shadow mode: the rules decided “${tx("statusNames", p.status)}”; answering pending`,
      flood: (p) => `too many comments from this ${p.who === "ip" ? "IP address" : "email address"}; retry in ${p.retry_seconds} s`,
      duplicate: () => "the same author already posted this comment on this post",
      personal_data: (p) => `the comment exposes personal data (${String(p.kinds).split(",").map((k) => tx("personalKinds", k)).join(", ")})`,
      reputation: (p) =>
        `${tx("reputationKinds", p.kind)}${p.domain ? ` ${p.domain}` : ""} marked ${p.direction === "spam" ? "spam" : "not spam"} ${p.count}× ${p.sites > 1 ? `on ${p.sites} sites` : "on this site"}`,
    },
    reputationKinds: {
      domain: "domain",
      phone: "phone number",
      handle: "messenger handle",
      email: "email address",
      network: "IP network",
    },
    personalKinds: {
      identity_number: "identity number",
      bank_account: "bank account",
      own_phone_number_or_email: "own phone number or email",
    },
    fieldNames: {
      author_name: "Author name",
      author_email: "Author email",
      author_url: "Author URL",
      content: "Content",
      user_ip: "IP",
      user_agent: "User agent",
    },
    reasonCodes: {
      too_many_links: "Too many links",
      spam_score_uncertain: "Uncertain spam score",
      spam_score: "High spam score",
      low_spam_score: "Low spam score",
      trusted_author: "Trusted author",
      offensive: "Offensive language",
      hate_speech: "Hate speech",
      moderation_word: "Moderation word",
      disallowed_word: "Disallowed word",
      blocked_email: "Blocked email",
      blocked_email_domain: "Blocked email domain",
      blocked_ip: "Blocked IP",
      pre_moderation: "Pre-moderation",
      first_comment: "Author's first comment",
      campaign: "Repeated campaign",
      personal_data: "Personal data exposed",
      shadow_mode: "Shadow mode (not enforced)",
      flood: "Too many comments",
      duplicate: "Duplicate comment",
      reputation: "Reputation",
    },
    statusNames: { pending: "Pending", approved: "Approved", spam: "Spam", rejected: "Rejected" },
    toxLabels: { CLEAN: "Clean", OFFENSIVE: "Offensive", HATE: "Hate" },
    otherLang: "Tiếng Việt",
    otherLangCode: "vi",
  },
};

export const REJECT_REASONS = ["spam", "advertising", "offensive", "hate_speech", "harassment", "off_topic", "other"];

const STORAGE_KEY = "moderation.lang";
let current = "vi";

export function initialLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && STRINGS[saved]) return saved;
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "vi"];
  for (const tag of wanted) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (STRINGS[base]) return base;
  }
  return "en";
}

export function setLanguage(lang, remember = false) {
  current = STRINGS[lang] ? lang : "en";
  if (remember) localStorage.setItem(STORAGE_KEY, current);
  document.documentElement.lang = current;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  const toggle = document.getElementById("lang");
  toggle.textContent = t("otherLang");
  toggle.lang = t("otherLangCode");
}

export function language() {
  return current;
}

// Every number on the page goes through the page language's Intl formats ("0,86" on the
// Vietnamese page, "0.86" on the English one): never toFixed or String on a fraction.
export function locale() {
  return current === "vi" ? "vi-VN" : "en-GB";
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(locale(), options).format(value);
}

export function t(key, ...args) {
  const value = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return typeof value === "function" ? value(...args) : value;
}

export function tx(group, key) {
  const table = STRINGS[current][group] || {};
  return table[key] ?? key;
}

// A reason's detail in the current language, from its code and parameters. Comments stored
// before reasons carried parameters have none: the English message is shown only on the
// English page, the Vietnamese page shows the reason's label alone.
export function reasonDetail(reason) {
  const make = (STRINGS[current].reasonDetails || {})[reason.code];
  if (make && (reason.params || make.length === 0)) return make(reason.params || {}, decimal);
  return current === "en" ? reason.message || "" : "";
}

// A model signal's name; n-grams ('word', '…ngram…') are the comment's own text and stay as they are.
export function signalName(feature) {
  if (feature.startsWith("'")) return feature;
  return (STRINGS[current].signals || {})[feature] ?? feature;
}

function decimal(value) {
  if (typeof value !== "number") return String(value);
  return formatNumber(value, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function done(decision, n) {
  return STRINGS[current].done[decision](n);
}
