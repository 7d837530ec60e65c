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
    tokenLabel: "Mã moderator",
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
    heldByYou: "Bạn đang giữ",
    heldBy: (who) => `Đang được ${who} xử lý`,
    decidedBy: (who, status) => `${status} bởi ${who}`,
    rejectTitle: "Từ chối bình luận",
    blockTitle: "Spam và chặn tác giả",
    reasonLegend: "Lý do (phím 1–7)",
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
      shadow_mode: "Chế độ theo dõi (chưa áp dụng)",
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
    heldByYou: "Held by you",
    heldBy: (who) => `Held by ${who}`,
    decidedBy: (who, status) => `${status} by ${who}`,
    rejectTitle: "Reject comment",
    blockTitle: "Spam and block the author",
    reasonLegend: "Reason (keys 1–7)",
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
      shadow_mode: "Shadow mode (not enforced)",
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

export function t(key, ...args) {
  const value = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return typeof value === "function" ? value(...args) : value;
}

export function tx(group, key) {
  const table = STRINGS[current][group] || {};
  return table[key] ?? key;
}

export function done(decision, n) {
  return STRINGS[current].done[decision](n);
}
