"""Seeded synthetic comments: Vietnamese news-site spam and hard ordinary comments.

Why: none of the public datasets contains the promotional spam Vietnamese news sites get
(SIM numbers, loans, betting, "work from home", fake papers, Zalo/Telegram contacts) nor its
obfuscations. These templates teach the model that *structure* (a contact channel plus an
offer) is spam, and the "hard ham" templates teach it that merely talking about loans, betting,
Zalo or prices in a news discussion is not.

Everything is generated from ``random.Random(seed)``; the build uses one seed for training and
a different seed for the held-out synthetic check, and the two are never mixed.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Final

_MOBILE_PREFIXES: Final = (
    "032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078", "079",
    "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093", "094", "096",
    "097", "098", "099", "056", "058", "059",
)  # fmt: skip
_SYLLABLES: Final = (
    "viet", "ok", "bet", "win", "vip", "club", "fun", "88", "79", "king", "sun", "go", "hit",
    "loto", "vay", "tien", "nhanh", "sim", "so", "dep", "tai", "xiu", "ku", "fb", "jun", "w88",
    "m88", "fi", "b52", "789", "68", "new", "hi", "one", "max", "thabet", "shbet", "mb",
)  # fmt: skip
_TLDS: Final = (".com", ".net", ".vip", ".bet", ".club", ".xyz", ".vn", ".info", ".live", ".me", ".top", ".com.vn")
_SHORT: Final = ("bit.ly/", "t.me/", "zalo.me/", "tinyurl.com/", "cutt.ly/", "shorturl.at/", "s.id/")

_CONTACT_PHRASES: Final = (
    "liên hệ {p}", "LH {p}", "zalo {p}", "Zalo: {p}", "ib zalo {p}", "kết bạn zalo {p}",
    "gọi ngay {p}", "hotline {p}", "sđt {p}", "inbox mình hoặc gọi {p}", "nhắn zalo {p} nhé",
    "tele @{h}", "telegram: @{h}", "vào nhóm {u}", "chi tiết tại {u}", "link: {u}",
    "truy cập {u}", "đăng ký tại {u}", "xem thêm {u}", "ĐT/Zalo {p}", "call {p}",
    "{u}", "📞 {p}", "☎️ {p}", "nhắn tin {p} để được tư vấn",
    "ib em nha", "inbox shop để được tư vấn", "cmt 'có' để nhận", "check ib nhé",
    "xem trang cá nhân của mình", "ai cần ib mình", "để lại sđt shop gọi lại",
)  # fmt: skip

_OFFERS: Final = (
    # SIM numbers
    "Bán sim số đẹp giá rẻ, sim tam hoa, tứ quý, lộc phát, thần tài",
    "Sim số đẹp theo năm sinh, sim phong thủy hợp mệnh, giao sim tận nơi miễn phí",
    "Thanh lý sim số đẹp Viettel đuôi 6868, 8888, 3979 giá chỉ từ 500k",
    "Chuyên sim số năm sinh, sim lộc phát, sim gánh đảo, đăng ký chính chủ",
    # loans
    "Vay tiền nhanh online chỉ cần CCCD, giải ngân trong 15 phút, không thẩm định",
    "Hỗ trợ vay vốn tiêu dùng lãi suất thấp, nợ xấu vẫn vay được, duyệt hồ sơ 5 phút",
    "Cho vay tín chấp 10 đến 500 triệu, không cần thế chấp, nhận tiền trong ngày",
    "Đáo hạn thẻ tín dụng, rút tiền mặt thẻ tín dụng phí thấp nhất",
    # betting
    "Nhà cái uy tín số 1 châu Á, nạp đầu tặng 100%, rút tiền siêu tốc",
    "Cá cược bóng đá, nổ hũ, bắn cá, tài xỉu, đăng ký nhận ngay 88k",
    "Soi cầu lô đề miền Bắc chính xác 100%, bạch thủ lô hôm nay",
    "Game bài đổi thưởng uy tín, nạp rút 1-1, hoàn trả mỗi ngày",
    "Kèo nhà cái hôm nay, tip bóng đá chuẩn, vào là ăn",
    "Casino trực tuyến, đăng ký tặng 150k trải nghiệm, thưởng nạp 200%",
    # work from home / scams
    "Tuyển cộng tác viên làm việc tại nhà, thu nhập 500k đến 1 triệu mỗi ngày, chỉ cần điện thoại",
    "Việc nhẹ lương cao, làm online tại nhà, không cần kinh nghiệm, trả lương ngày",
    "Tuyển CTV chốt đơn Shopee, làm nhiệm vụ nhận hoa hồng 20%",
    "Kiếm tiền online 300k/ngày chỉ bằng việc like và share bài viết",
    "Đầu tư tiền ảo lợi nhuận 30% mỗi tháng, cam kết hoàn vốn",
    "Tham gia nhóm kín chứng khoán, khuyến nghị mã tăng trần mỗi ngày",
    # papers, services, products
    "Làm giấy tờ nhanh: bằng lái, bằng đại học, CCCD, sổ hồng, giấy khám sức khỏe",
    "Nhận làm bằng cấp 3, bằng đại học không cần học, có hồ sơ gốc",
    "Thuốc tăng cường sinh lý nam, kéo dài thời gian, hiệu quả sau 7 ngày",
    "Giảm cân cấp tốc 10kg trong 1 tháng, an toàn không tác dụng phụ",
    "Thông tắc cống, hút bể phốt, giá rẻ có mặt sau 15 phút",
    "Khoan cắt bê tông, sửa điện nước tại nhà 24/7",
    "Bán nick facebook cổ, tăng like, tăng follow, tăng mắt livestream giá rẻ",
    "Mã giảm giá Shopee 50%, săn sale 0 đồng mỗi ngày",
    "Mua bán đất nền giá đầu tư, sổ đỏ riêng, ngân hàng hỗ trợ 70%",
    "Xả kho quần áo, giày dép hàng hiệu giá chỉ 99k",
    "Dịch vụ đòi nợ thuê, thám tử theo dõi uy tín",
    "Mọi người ghé kênh youtube của mình đăng ký ủng hộ với ạ",
    "Mời mọi người vào group zalo nhận tín hiệu kèo miễn phí",
    # dating / adult services
    "Em gái dễ thương nhận đi chơi, tâm sự, qua đêm, bao phòng",
    "Gái xinh sinh viên nhận đi khách, hàng mới, cam kết như hình",
    "Tìm bạn tình một đêm, chat sex, gọi video nóng bỏng",
    "Kết bạn với hot girl, sugar baby tìm sugar daddy chu cấp hàng tháng",
    # crypto / investment
    "Kèo coin x10 tài khoản, sàn Binance, tín hiệu miễn phí mỗi ngày",
    "Airdrop token mới nhận ngay 50 USDT, số lượng có hạn",
    "Nhận đầu tư USDT lãi 3% mỗi ngày, rút gốc bất kỳ lúc nào",
    # online shops pushing a product
    "Shop em đang xả hàng váy đầm thiết kế chỉ 129k, chị em nào cần thì inbox",
    "Kem chống nắng, serum trắng da hàng auth giá sỉ, ship COD toàn quốc",
    "Nồi chiên không dầu giảm 50% hôm nay, số lượng có hạn, ai cần ib",
    "Order hàng Quảng Châu, Taobao giá tận xưởng, nhận ship toàn quốc",
    "Tai nghe bluetooth chính hãng chỉ 199k, bảo hành 12 tháng, đặt hàng ngay",
    # accounts, papers, misc
    "Thu mua tài khoản ngân hàng, thuê tài khoản giá cao, trả tiền ngay",
    "Bán tài khoản Netflix, YouTube Premium, ChatGPT Plus giá rẻ 1 năm",
    "Dịch vụ tăng đánh giá 5 sao Google Maps, Shopee, tăng view TikTok",
    "Nhận chạy quảng cáo Facebook, xác minh tích xanh, mở khóa nick",
    "Nhận làm chứng chỉ tiếng Anh, chứng chỉ tin học, bằng cấp 3 không cần thi",
    "Xem bóng đá trực tiếp full HD không quảng cáo, tỷ lệ kèo cập nhật",
)  # fmt: skip

_OPENERS: Final = ("", "", "", "🔥 ", "‼️ ", "HOT: ", "Cần tiền gấp? ", "Ai cần thì ", "Mọi người ơi, ", "💰 ")
_CLOSERS: Final = ("", "", " uy tín", " nhé", " 24/7", " !!!", " 🔥🔥", " ạ", " miễn phí tư vấn")

# Ordinary news comments that share vocabulary or digits with spam: the model must not learn
# "mentions Zalo / loans / betting / a price" = spam.
_HAM_TEMPLATES: Final = (
    "Cảnh giác với lừa đảo qua Zalo, mẹ tôi suýt mất {n} triệu vì tin lời kẻ gian",
    "Vay tín dụng đen lãi cắt cổ, chính quyền cần xử lý mạnh tay hơn",
    "Cờ bạc online đã làm tan nát bao nhiêu gia đình, phải chặn hết các trang nhà cái",
    "Giá xăng tăng {n}.000 đồng mà lương vẫn vậy, dân khổ quá",
    "Năm {y} rồi mà đường này vẫn ngập mỗi khi mưa",
    "Số điện thoại của tôi bị lộ, ngày nào cũng có người gọi mời vay tiền, rất phiền",
    "Đội tuyển đá quá hay, tỉ số {a}-{b} là xứng đáng",
    "Tôi làm việc tại nhà từ hồi dịch, thấy năng suất không kém đi làm",
    "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ",
    "Mua sim phải đăng ký chính chủ là đúng, để hạn chế lừa đảo",
    "Nhà tôi ở quận {n}, tối qua mất điện {a} tiếng liền",
    "Lãi suất ngân hàng giảm còn {a}%, gửi tiết kiệm chẳng được bao nhiêu",
    "Bộ Công an cảnh báo các chiêu lừa việc nhẹ lương cao, ai cũng nên đọc",
    "Tôi đã gọi tổng đài 1900 nhưng chờ mãi không ai nghe máy",
    "Người dân nên báo ngay cho công an khi nhận tin nhắn lạ",
    "Giá vàng hôm nay lên {n} triệu một lượng, ai mua đỉnh thì khổ",
    "Trận tối qua trọng tài bắt quá tệ, phạt đền như vậy là sai",
    "Học sinh lớp {a} mà bài tập nhiều thế này thì lấy đâu thời gian chơi",
    "Thủ tướng chỉ đạo xử lý nghiêm các vi phạm về đất đai",
    "Xem xong thấy thương các em nhỏ vùng lũ quá, mong mọi người chung tay",
    "Đề nghị báo đăng thêm số liệu năm {y} để so sánh",
    "Shipper giao hàng vất vả lắm, mọi người đừng bom hàng",
    "Ai ở {city} cho hỏi đường {street} có còn kẹt xe không",
    "Mình thấy giá nhà ở {city} cao quá, lương {n} triệu thì bao giờ mới mua nổi",
    "Theo tôi nên tăng thuế thuốc lá lên {a}0% như nhiều nước",
    "Check the facts before sharing, this article has wrong numbers",
    "Great analysis, I agree the policy will hurt small businesses",
)  # fmt: skip
# Comments that cite a legitimate source (news, government, reference): a link is not spam.
_SOURCE_DOMAINS: Final = (
    "tuoitre.vn", "thanhnien.vn", "dantri.com.vn", "vietnamnet.vn", "baochinhphu.vn",
    "chinhphu.vn", "moh.gov.vn", "sbv.gov.vn", "thuvienphapluat.vn", "vi.wikipedia.org",
    "en.wikipedia.org", "bbc.com", "apnews.com", "theguardian.com", "nytimes.com", "who.int",
    "worldbank.org", "imf.org", "nature.com", "laodong.vn", "zingnews.vn", "nhandan.vn",
)  # fmt: skip
_SOURCE_PATHS: Final = (
    "thoi-su/gia-dien-tang-tu-thang-10", "kinh-te/lai-suat-2024", "xa-hoi/ngap-lut-mien-trung",
    "news/world-asia-67123456", "article/vietnam-economy-growth", "wiki/Lạm_phát",
    "van-ban/Luat-Dat-dai-2024", "phap-luat/vu-an-lua-dao-123456.htm", "2024/05/report.html",
)  # fmt: skip
_SOURCE_HAM: Final = (
    "Nguồn số liệu đây: {l}",
    "Bài gốc ở {l}, báo này lấy lại mà không ghi nguồn",
    "Theo {l} thì con số thực tế cao hơn nhiều",
    "Ai muốn đọc toàn văn nghị định thì xem tại {l}",
    "Tôi thấy bài này trái ngược với thông tin trên {l}, đề nghị kiểm tra lại",
    "Đọc thêm phân tích ở {l}, khá đầy đủ",
    "Source: {l}",
    "The original report is here: {l}",
    "According to {l} the numbers are much lower than this article claims",
    "Full text of the law: {l}",
    "Here is the WHO guidance the article refers to: {l}",
    "Video gốc đây mọi người: {l}",
    "Clip hiện trường ở {l}, xem xong mới thấy bài viết nói đúng",
    "Xem toàn bộ buổi họp báo tại {l}",
    "Bản tin có phỏng vấn người dân ở đây {l}",
    "Full video of the press conference: {l}",
)  # fmt: skip
# Readers share the video a story is about (news channels' pages): a video link is not spam.
_VIDEO_LINKS: Final = (
    "https://www.youtube.com/watch?v={v}", "youtube.com/watch?v={v}", "https://youtu.be/{v}",
    "https://www.facebook.com/{page}/videos/{n}", "https://www.tiktok.com/@{page}/video/{n}{n}",
)  # fmt: skip
_VIDEO_PAGES: Final = ("baotuoitre", "vtv24", "thanhnienonline", "VTCNow", "baodantri", "vnexpress")
_VIDEO_ID_CHARS: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
# News comments that quote a hotline or switchboard to complain or correct, not to sell.
_HOTLINE_HAM: Final = (
    "Đường dây nóng {h} gọi mãi không ai bắt máy, vậy lập ra làm gì",
    "Số tổng đài {h} ghi trong bài bị sai, tôi gọi thử rồi",
    "Có ai gọi được {h} chưa, tôi chờ 30 phút vẫn không được",
    "Tôi đã phản ánh qua {h} từ tuần trước mà chưa thấy ai xử lý",
    "The hotline {h} in the article does not work, I tried three times",
)  # fmt: skip
_HOTLINES: Final = ("1900 9095", "1800 1091", "1900 1234", "1022", "113", "114", "115", "111", "1800 599 920")

_EN_OFFERS: Final = (
    "Make $300 a day from home with this simple online job, no experience needed",
    "I earn $8,000 a month working part time from my laptop, anyone can do it",
    "Hot girls near you want to meet tonight, sign up free",
    "Lonely? Chat with beautiful single women in your city",
    "Buy real Instagram followers, TikTok likes and YouTube views, cheap and instant",
    "Get 1000 subscribers in 24 hours, 100% safe and guaranteed",
    "Invest in Bitcoin with our trading expert and get 40% weekly profit",
    "Free crypto airdrop, claim your 500 USDT before it ends",
    "Best online casino, 200% welcome bonus and free spins for new players",
    "Cheap Viagra and Cialis, no prescription needed, discreet shipping",
    "Need a fast loan? Bad credit OK, approval in 10 minutes",
    "Lose 10 kg in 2 weeks with this one weird trick doctors hate",
    "Hey everyone, please check out my new music video and subscribe to my channel",
    "I just started a cooking channel, would love it if you guys subscribed",
    "Huge sale on designer bags and watches, 80% off today only",
    "Win a free iPhone 15, just enter your email on the page",
)  # fmt: skip
_EN_CONTACTS: Final = (
    "visit {u}", "click here {u}", "more info at {u}", "sign up at {u}", "link in bio {u}",
    "WhatsApp me +1 {n}", "DM me on telegram @{h}", "contact us on WhatsApp +44 {n}",
    "text me at {n}", "{u}", "check out my channel {u}", "join here {u}", "order now {u}",
)  # fmt: skip
_EN_HAM: Final = (
    "The government should explain where the money for this project actually went",
    "I disagree with the author, raising taxes now will hurt small businesses",
    "Does anyone know if the new bridge is open to motorbikes?",
    "Prices have gone up {a}0% since {y} but wages have not moved at all",
    "My uncle lost {n} million dong to a phone scam, please warn your parents",
    "Good article, but it would help to see the figures for {y} as well",
    "The traffic in {city} is getting worse every year, we need more buses",
    "Why is nobody talking about the pollution in the river near the factory?",
    "Thank you for the reporting, the flood victims need more help",
    "As a teacher I earn {n} million a month, it is not enough to rent in the city",
    "I call the bank every week about this fee and they never fix it",
    "The match was great, {a}-{b} was a fair result",
    "This policy will not work unless the police actually enforce it",
    "Interesting, I did not know the law changed in {y}",
    "Is this the same company that was fined last year?",
    "Online betting ads are everywhere now, they should be banned",
    "Stop sharing fake news, check the official source first",
    # Readers warning each other: the vocabulary of scams, from the other side.
    "Someone called my father pretending to be from the bank and offered a cheap loan, be careful",
    "These work from home offers that pay {n} dollars a day are all scams, do not send them money",
    "My cousin lost her savings to a fake crypto investment group, the police say they cannot help",
    "Never share the OTP code, no real bank will ask you for it",
    "The betting sites advertise on every football stream, who is allowing this?",
    "I got a message saying I won a prize and should click a link, obviously fake",
    "Loan apps charge {a}0% interest and then harass your whole contact list, ban them",
    "Be careful with job offers in Cambodia, my neighbour's son was trapped there",
)  # fmt: skip
# Promotion assembled from parts, often with no contact at all: the words of selling (who
# offers what, selling points, a call to action) must carry it without a phone or link.
_PROMO_VERBS: Final = (
    "Chuyên cung cấp", "Chuyên sỉ lẻ", "Nhận làm", "Nhận thiết kế", "Bán", "Thanh lý", "Cho thuê",
    "Dịch vụ", "Mua bán", "Cung cấp", "Nhận order", "Phân phối", "Xả kho", "Nhận sửa", "Bên em nhận",
    "Shop chuyên", "Công ty chuyên", "Nhận dạy", "Cần bán gấp", "Chuyên thu mua",
)  # fmt: skip
_PROMO_ITEMS: Final = (
    "mỹ phẩm Hàn Quốc", "nước hoa Pháp", "đồ gia dụng", "website bán hàng", "logo, banner",
    "căn hộ chung cư", "đất nền ven biển", "xe máy cũ", "thực phẩm chức năng", "đồng hồ Thụy Sĩ",
    "điện thoại xách tay", "laptop cũ", "quần áo trẻ em", "sữa bột Úc", "yến sào", "máy lọc nước",
    "khóa học tiếng Anh online", "gia sư tại nhà", "vé máy bay", "tour du lịch Thái Lan",
    "bảo hiểm nhân thọ", "hồ sơ vay vốn", "visa đi Nhật", "nội thất gỗ", "đèn năng lượng mặt trời",
    "tài liệu luyện thi", "phần mềm bản quyền", "camera an ninh", "máy tính bảng",
)  # fmt: skip
_PROMO_POINTS: Final = (
    "giá tốt nhất thị trường", "chính hãng 100%", "uy tín, chất lượng", "giá rẻ bất ngờ",
    "bảo hành 12 tháng", "miễn phí vận chuyển", "cam kết hiệu quả", "giao hàng toàn quốc",
    "chiết khấu cao", "giá tận gốc", "hoàn tiền nếu không hài lòng", "trả góp 0%",
    "giá chỉ từ {n}k", "giảm {n}% hôm nay", "tặng kèm quà", "chuyên nghiệp, nhanh chóng",
)  # fmt: skip
_PROMO_CALLS: Final = (
    "", "", "liên hệ ngay", "đặt hàng ngay", "đăng ký ngay", "số lượng có hạn", "nhanh tay kẻo lỡ",
    "ai cần thì ib", "kết bạn với mình để được tư vấn", "xem thêm trên trang cá nhân",
    "inbox để nhận báo giá", "alo em", "mọi người ủng hộ em nhé",
)  # fmt: skip
_JOB_SCAMS: Final = (
    "Cần tuyển {n} bạn {who} làm việc online, lương {m}tr/tháng, không cọc",
    "Tuyển gấp {n} {who} làm thêm tại nhà, {m}00k mỗi ngày, không cần kinh nghiệm",
    "Bạn nào muốn kiếm thêm thu nhập {m} triệu mỗi tháng thì {call}",
    "Việc làm thêm buổi tối cho {who}, chỉ cần điện thoại, thu nhập {m} triệu, {call}",
    "Mình đang cần {n} bạn {who} hỗ trợ công việc nhẹ nhàng, lương {m}tr, {call}",
)  # fmt: skip
_WHO: Final = ("nữ", "nam", "sinh viên", "mẹ bỉm sữa", "cộng tác viên", "người lớn tuổi")
# Ordinary first-person talk about buying, prices and jobs: shares the selling vocabulary.
_CONSUMER_HAM: Final = (
    "Tôi mua {item} ở cửa hàng chính hãng mà vẫn bị hàng giả, ai chịu trách nhiệm đây",
    "Giá {item} bây giờ đắt quá, năm {y} còn rẻ hơn nhiều",
    "Nhà tôi vừa bán {item} xong thì giá tăng, tiếc thật",
    "Quảng cáo {item} giá rẻ trên mạng toàn lừa đảo, mọi người cẩn thận",
    "Tôi đang tìm việc làm thêm buổi tối nhưng toàn gặp tin tuyển dụng lừa đảo",
    "Con tôi học {item} mất {n} triệu mà chẳng tiến bộ gì",
    "Người bán hàng online phải nộp thuế là đúng, cửa hàng truyền thống cũng phải nộp mà",
    "Ai từng mua {item} trả góp rồi cho hỏi có bị tính phí ẩn không",
    "Tuyển dụng kiểu lương {n} triệu không cần kinh nghiệm thì chắc chắn là lừa",
    "Hàng chính hãng mà giá rẻ bất ngờ thì nên nghi ngờ ngay",
)  # fmt: skip
_CITIES: Final = ("Hà Nội", "Sài Gòn", "Đà Nẵng", "Cần Thơ", "Huế", "Hải Phòng", "Nghệ An")
_STREETS: Final = ("Nguyễn Trãi", "Láng", "Cộng Hòa", "Lê Văn Lương", "Điện Biên Phủ")

_LEET: Final = {"o": "0", "i": "1", "a": "4", "e": "3", "s": "5", "t": "7"}
_ZERO_WIDTH: Final = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _phone(rng: random.Random) -> str:
    digits = rng.choice(_MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(7))
    style = rng.randrange(9)
    if style == 0:
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    if style == 1:
        return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
    if style == 2:
        return " ".join(digits)
    if style == 3:
        return " ".join(digits[:4]) + " . " + " ".join(digits[4:7]) + " . " + " ".join(digits[7:])
    if style == 4:
        return "+84 " + digits[1:]
    if style == 5:
        return digits.replace("0", rng.choice("Oo"), 2)
    if style == 6:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if style == 7 and rng.random() < 0.5:
        # Spelled out in words, with or without diacritics: "không chín tám ...".
        words = _SPELLED_DIGITS if rng.random() < 0.5 else _SPELLED_DIGITS_FOLDED
        return " ".join(words[int(d)] for d in digits)
    return digits


_SPELLED_DIGITS: Final = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_SPELLED_DIGITS_FOLDED: Final = ("khong", "mot", "hai", "ba", "bon", "nam", "sau", "bay", "tam", "chin")


def _domain(rng: random.Random) -> str:
    name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))
    return name + rng.choice(_TLDS)


def _url(rng: random.Random) -> str:
    style = rng.randrange(6)
    if style == 0:
        slug = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz0123456789") for _ in range(6))
        return rng.choice(_SHORT) + slug
    if style == 1:
        return "https://" + _domain(rng) + "/" + rng.choice(("dang-ky", "khuyen-mai", "ref=88", "vip"))
    if style == 2:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(2))
        return name + rng.choice((" chấm com", " (.) com", " [.] net", " dot com", " . vip"))
    return _domain(rng)


def _handle(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(2)) + str(rng.randint(1, 999))


def _spell_out(word: str, rng: random.Random) -> str:
    sep = rng.choice((".", " ", "-", "_", "*"))
    return sep.join(word)


def _obfuscate(text: str, rng: random.Random) -> str:
    """Apply a random subset of the tricks seen in Vietnamese comment spam."""
    if rng.random() < 0.5:
        text = _strip_accents(text)
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) < 3 or any(ch.isdigit() for ch in word):
            continue
        r = rng.random()
        if r < 0.06:
            words[i] = _spell_out(word, rng)
        elif r < 0.12:
            words[i] = "".join(_LEET.get(ch, ch) if rng.random() < 0.5 else ch for ch in word)
        elif r < 0.16:
            # Capitals with a lowercase "l" standing in for "I" ("GlAY").
            words[i] = word.upper().replace("I", "l")
        elif r < 0.2:
            words[i] = rng.choice(_ZERO_WIDTH).join(word)
    text = " ".join(words)
    if rng.random() < 0.2:
        text = text.upper()
    if rng.random() < 0.15:
        text = unicodedata.normalize("NFD", text)
    return text


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def english_spam_comment(rng: random.Random) -> str:
    offer = rng.choice(_EN_OFFERS)
    contact = rng.choice(_EN_CONTACTS).format(
        u=_url(rng), h=_handle(rng), n=f"{_digits(rng, 3)} {_digits(rng, 3)} {_digits(rng, 4)}"
    )
    if rng.random() < 0.15:
        return offer + rng.choice(("!", "!!", ".", " 🔥"))
    text = offer + rng.choice((". ", "! ", " - ", "\n", " ")) + contact
    if rng.random() < 0.15:
        text = text.upper()
    return text


def source_link(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return rng.choice(_VIDEO_LINKS).format(
            v="".join(rng.choice(_VIDEO_ID_CHARS) for _ in range(11)),
            page=rng.choice(_VIDEO_PAGES), n=rng.randint(10**8, 10**9),
        )
    domain = rng.choice(_SOURCE_DOMAINS)
    if rng.random() < 0.3:
        return domain
    prefix = rng.choice(("https://", "https://www.", "http://", ""))
    return f"{prefix}{domain}/{rng.choice(_SOURCE_PATHS)}"


def promo_comment(rng: random.Random) -> str:
    """A Vietnamese promotion assembled from parts; 60 % carry no phone, link or handle."""
    n, m = rng.randint(2, 50), rng.randint(3, 30)
    call = rng.choice(_PROMO_CALLS)
    if rng.random() < 0.3:
        text = rng.choice(_JOB_SCAMS).format(n=n, m=m, who=rng.choice(_WHO), call=call or "inbox mình")
    else:
        points = rng.sample(_PROMO_POINTS, rng.randint(1, 3))
        text = f"{rng.choice(_PROMO_VERBS)} {rng.choice(_PROMO_ITEMS)}, {', '.join(points)}".format(n=n)
        if call:
            text += rng.choice((". ", ", ", " - ", "! ")) + call
    if rng.random() < 0.4:
        text += rng.choice((", ", ". ", " ")) + rng.choice(_CONTACT_PHRASES).format(
            p=_phone(rng), u=_url(rng), h=_handle(rng)
        )
    return _obfuscate(text, rng) if rng.random() < 0.4 else text


def spam_comment(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return english_spam_comment(rng)
    if kind < 0.4:
        return promo_comment(rng)
    offer = rng.choice(_OFFERS)
    contact = rng.choice(_CONTACT_PHRASES).format(p=_phone(rng), u=_url(rng), h=_handle(rng))
    if rng.random() < 0.3:
        contact += ", " + rng.choice(_CONTACT_PHRASES).format(p=_phone(rng), u=_url(rng), h=_handle(rng))
    text = rng.choice(_OPENERS) + offer + rng.choice((". ", ", ", " - ", "\n", " ")) + contact
    text += rng.choice(_CLOSERS)
    if rng.random() < 0.15:
        # Offer without any contact channel at all: text alone must carry it.
        text = rng.choice(_OPENERS) + offer + rng.choice(_CLOSERS)
    return _obfuscate(text, rng) if rng.random() < 0.7 else text


def ham_comment(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.12:
        return rng.choice(_SOURCE_HAM).format(l=source_link(rng))
    if kind < 0.18:
        return rng.choice(_HOTLINE_HAM).format(h=rng.choice(_HOTLINES))
    if kind < 0.3:
        text = rng.choice(_CONSUMER_HAM).format(item=rng.choice(_PROMO_ITEMS), y=rng.randint(2015, 2024),
                                               n=rng.randint(2, 90))
        return _strip_accents(text) if rng.random() < 0.3 else text
    template = rng.choice(_EN_HAM if kind < 0.5 else _HAM_TEMPLATES)
    text = template.format(
        n=rng.randint(2, 99), y=rng.randint(2015, 2025), a=rng.randint(1, 9), b=rng.randint(0, 5),
        city=rng.choice(_CITIES), street=rng.choice(_STREETS),
    )
    if rng.random() < 0.35:
        text = _strip_accents(text)
    if rng.random() < 0.1:
        text = text.lower()
    return text


def generate(seed: int, n_spam: int, n_ham: int) -> tuple[list[str], list[int]]:
    """*n_spam* spam (label 1) and *n_ham* hard ham (label 0) comments, shuffled, seeded."""
    rng = random.Random(seed)
    rows = [(spam_comment(rng), 1) for _ in range(n_spam)]
    rows += [(ham_comment(rng), 0) for _ in range(n_ham)]
    rng.shuffle(rows)
    return [t for t, _ in rows], [y for _, y in rows]


# ---------------------------------------------------------------- spam kinds of issue 21
#
# Written after the hand-written per-kind evaluation file (tests/data/spam_kinds_eval.csv) and
# deliberately apart from it: assembled from parts by a seeded generator of its own
# (``generate_kinds``), with brands, jobs, sites and wordings that the evaluation file does not
# use (no brand of its tech-support rows, none of its job titles). The same team wrote both,
# so the per-kind figures on the hand-written file stay optimistic (models/README.md).

_SUPPORT_BRANDS: Final = (
    "Dell", "Lenovo", "Toshiba", "Samsung printer", "Xerox", "Ricoh", "Kodak", "TurboTax", "AOL mail",
    "Hotmail", "Comcast", "Xfinity", "Spectrum", "Verizon", "Binance", "Trust Wallet", "MetaMask",
    "Ledger", "Robinhood", "PayPal", "Venmo", "Facebook", "Instagram", "Snapchat", "Sonos", "Fitbit",
    "Kindle", "Arlo camera", "Ring doorbell", "Linksys", "TP-Link", "Belkin", "Asus", "Acer", "Avira",
    "ESET", "Trend Micro", "Sophos", "Xero", "Peachtree", "Adobe", "Office 365", "Pogo games",
    "Juno email", "Verizon FiOS", "Orbi router", "Nest thermostat", "Blink camera", "Zoom", "Skype",
)  # fmt: skip
_SUPPORT_PROBLEMS: Final = (
    "not working", "offline", "login problem", "password reset", "error code {e}", "won't connect to wifi",
    "activation failed", "account hacked", "payment declined", "refund request", "update stuck",
    "installation help", "driver download", "two factor code not received", "account suspended",
    "slow performance", "subscription renewal", "setup issues", "blue screen", "sync failed",
)  # fmt: skip
_SUPPORT_DESKS: Final = (
    "helpdesk number", "customer helpline", "support contact number", "tech helpline",
    "customer support number", "technical support hotline", "service phone number",
    "customer care line", "help line number", "contact phone number", "support desk",
)  # fmt: skip
_SUPPORT_CTAS: Final = (
    "Call {n} now", "Dial {n} for instant help", "Reach our experts at {n}", "Ring {n} (free call)",
    "Talk to a live agent: {n}", "Phone {n}, open 24 hours", "Get it fixed today, call {n}",
    "{n} - available day and night", "Certified technicians at {n}", "Toll-free {n}",
)  # fmt: skip
_PRAISE: Final = (
    "This is exactly what I was looking for, thank you so much for writing it",
    "Superb explanation, I shared it with my colleagues",
    "Your blog is one of the best I have come across this year",
    "Well researched and easy to read, looking forward to the next part",
    "I appreciate the effort you put into this write-up",
    "Fantastic post, it cleared up a lot of my doubts",
    "Keep writing articles like this one, very useful for readers",
    "Thanks a ton for this detailed guide, it helped me a lot",
    "Such a lovely read, your writing style is very engaging",
    "Bookmarking this page, the tips here are gold",
)  # fmt: skip
_PROMO_SITES: Final = (
    "digital marketing services", "the best online casino", "cheap essay writing", "replica handbags",
    "CBD gummies", "a payday loan", "cheap flights", "seo backlinks", "keto pills", "a sports betting app",
    "affordable web design", "an IELTS coaching centre", "car rental in Dubai", "escort services",
    "forex signals", "home cleaning services", "a crypto exchange", "packers and movers",
)  # fmt: skip
_PRAISE_LINKS: Final = (
    "If you need {s}, visit {u}", "Also check out {s} at {u}", "We offer {s}: {u}", "Looking for {s}? {u}",
    "For {s} go to {u}", "{u} - {s}", "My site about {s}: {u}", "Read more about {s} on {u}",
)  # fmt: skip
_WFH_WHO: Final = (
    "My aunt", "A friend of mine", "My college roommate", "I", "This single dad", "My sister-in-law",
    "A retired teacher I know", "My coworker",
)  # fmt: skip
_WFH_HOW: Final = (
    "just using a phone", "from the comfort of home", "in spare time", "with a simple online system",
    "doing easy tasks online", "part time on the computer", "without any experience", "reviewing apps",
)  # fmt: skip
_WFH_CTAS: Final = (
    "see how at {u}", "the details are on {u}", "start here {u}", "apply today {u}", "message me for the link",
    "DM me 'INFO'", "comment 'interested' below", "ask me how", "WhatsApp {n}",
)  # fmt: skip
# Vietnamese job and task scams: roles, pay, conditions, lures (none of the evaluation file's
# job titles).
_VI_ROLES: Final = (
    "soạn tin nhắn", "dán nhãn sản phẩm", "bình luận bài viết", "xem quảng cáo", "gấp hộp giấy",
    "cắm hoa giấy", "kiểm tra đơn", "tư vấn viên online", "lễ tân", "phục vụ quán cà phê",
    "trông quầy", "thu ngân", "tạp vụ văn phòng", "duyệt ảnh", "viết đánh giá", "chép bài",
    "trả lời tin nhắn khách", "quay video ngắn", "xem livestream", "đặt đơn ảo",
)  # fmt: skip
_VI_PAY: Final = (
    "{a}-{b}k mỗi giờ", "{a}0k/đơn", "{a}-{b} triệu/tháng", "{a}00k mỗi ngày", "lương ngày {a}00k",
    "thu nhập {a}-{b}tr", "{a}%-{b}% hoa hồng", "trả công {a}0k mỗi lượt",
)  # fmt: skip
_VI_TERMS: Final = (
    "không yêu cầu bằng cấp", "làm ở đâu cũng được", "giờ giấc tự do", "nhận cả người lớn tuổi",
    "trả lương cuối ngày", "có người kèm", "không mất phí", "làm ngay hôm nay", "chỉ cần có smartphone",
    "ưu tiên nữ", "không giới hạn độ tuổi", "nhận cả học sinh",
)  # fmt: skip
_VI_LURES: Final = (
    "ai quan tâm để lại số", "bạn nào cần thì cmt", "inb để nhận việc", "nhắn riêng mình", "add zl mình",
    "vào nhóm để được giao việc", "để lại chữ 'nhận' mình liên hệ", "ai làm được báo mình", "pm mình",
    "", "",
)  # fmt: skip
_VI_TASKS: Final = (
    "Làm nhiệm vụ {r} trên ứng dụng, nạp {a}00k nhận lại {b}00k, càng nhiều cấp càng lời",
    "Tham gia đội {r}, hoàn thành đủ {a} nhiệm vụ là được rút cả gốc lẫn lãi",
    "Nhiệm vụ hôm nay: {r}, mỗi lượt {a}0k, nạp trước để mở khóa nhiệm vụ VIP",
    "Hệ thống giao nhiệm vụ {r}, chiết khấu {a}% mỗi đơn, rút về ví trong vài phút",
)  # fmt: skip
_VI_JOBS: Final = (
    "Tuyển {n} người {r}, {p}, {t}",
    "Cần gấp {n} bạn {r}, {p}, {t}",
    "Bên mình tuyển {r} làm tại nhà, {p}, {t}",
    "Tuyển {r} ca tối, {p}, {t}",
    "Ai cần việc {r} thì vào đây, {p}, {t}",
    "Tìm {n} bạn {r} online, {p}",
)  # fmt: skip
# Hard ham near these kinds: readers talking about their computers, blogs, jobs and pay.
_KIND_HAM_EN: Final = (
    "My {b} stopped working after the update, anyone else? I ended up reinstalling everything",
    "Never call a support number you found in a comment, scammers post fake ones everywhere",
    "I work from home three days a week and honestly I get more done",
    "Great article, I shared it with my students. The part about inflation was very clear",
    "Thanks for writing this, my dad got a fake tech support call last week",
    "The {b} customer service kept me on hold for an hour, terrible experience",
    "My son earns {a}00 dollars a month tutoring online, not bad for a student",
    "Nice blog post, but the link in the third paragraph is broken",
)  # fmt: skip
_KIND_HAM_VI: Final = (
    "Con tôi đi làm {r} được {a} triệu một tháng, vất vả mà lương thấp",
    "Mấy tin tuyển {r} online toàn lừa nạp tiền làm nhiệm vụ, mọi người cảnh giác",
    "Tôi từng làm {r} hồi sinh viên, lương {a}0 nghìn một giờ",
    "Đọc bài mới biết có kiểu lừa làm nhiệm vụ nhận hoa hồng, thương mấy người bị mất tiền",
    "Thất nghiệp mấy tháng nay, nộp hồ sơ {r} mãi không ai gọi",
    "Nhà nước cần xử lý các nhóm tuyển dụng ảo trên mạng xã hội",
)  # fmt: skip


def _us_number(rng: random.Random) -> str:
    area = rng.choice(("800", "833", "844", "855", "866", "877", "888"))
    a, b = _digits(rng, 3), _digits(rng, 4)
    return rng.choice((f"+1-{area}-{a}-{b}", f"1 ({area}) {a} {b}", f"+1 {area} {a} {b}", f"1.{area}.{a}.{b}",
                       f"{area}-{a}-{b}", f"1-{area}-{a}-{b}"))  # fmt: skip


def _promo_url(rng: random.Random) -> str:
    name = "".join(rng.choice(("best", "pro", "hub", "zone", "24", "online", "rank", "top", "easy", "smart", "go"))
                   for _ in range(2))  # fmt: skip
    tld = rng.choice((".com", ".net", ".org", ".co", ".in", ".us", ".biz"))
    return rng.choice(("https://", "http://www.", "www.", "")) + name + tld


def kind_spam_comment(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.25:
        problem = rng.choice(_SUPPORT_PROBLEMS).format(e=rng.randint(100, 9999))
        brand = rng.choice(_SUPPORT_BRANDS)
        desk = rng.choice(_SUPPORT_DESKS)
        cta = rng.choice(_SUPPORT_CTAS).format(n=_us_number(rng))
        head = rng.choice((f"{brand} {problem}?", f"{brand} {desk}", f"Fix {brand} {problem}",
                           f"{rng.choice(_PRAISE)}. {brand} {problem}?"))  # fmt: skip
        return f"{head} {rng.choice(('', f'{brand} {desk}. '))}{cta}"
    if kind < 0.45:
        site = rng.choice(_PROMO_SITES)
        link = rng.choice(_PRAISE_LINKS).format(s=site, u=_promo_url(rng))
        return f"{rng.choice(_PRAISE)}{rng.choice(('. ', '! ', '... '))}{link}"
    if kind < 0.6:
        amount = rng.choice(("$250", "$380", "$7,000", "$12k", "$90", "$1,500", "$640"))
        period = rng.choice(("a day", "per week", "monthly", "every week", "an hour", "in one month"))
        number = f"+1 {_digits(rng, 3)} {_digits(rng, 3)} {_digits(rng, 4)}"
        cta = rng.choice(_WFH_CTAS).format(u=_promo_url(rng), n=number)
        who = rng.choice(_WFH_WHO)
        verb = "make" if who == "I" else "makes"
        return f"{who} {verb} {amount} {period} {rng.choice(_WFH_HOW)}{rng.choice(('!', '!!', '.', ' -'))} {cta}"
    n, a = rng.randint(2, 20), rng.randint(1, 9)
    b = a + rng.randint(1, 9)
    role = rng.choice(_VI_ROLES)
    if kind < 0.75:
        text = rng.choice(_VI_TASKS).format(r=role, a=a, b=b)
    else:
        text = rng.choice(_VI_JOBS).format(n=n, r=role, p=rng.choice(_VI_PAY).format(a=a, b=b),
                                           t=rng.choice(_VI_TERMS))  # fmt: skip
    lure = rng.choice(_VI_LURES)
    if lure:
        text += rng.choice((", ", ". ", " - ")) + lure
    if rng.random() < 0.25:
        text += " " + rng.choice(_CONTACT_PHRASES).format(p=_phone(rng), u=_url(rng), h=_handle(rng))
    return _obfuscate(text, rng) if rng.random() < 0.3 else text


def kind_ham_comment(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(_KIND_HAM_EN).format(b=rng.choice(_SUPPORT_BRANDS), a=rng.randint(2, 9))
    text = rng.choice(_KIND_HAM_VI).format(r=rng.choice(_VI_ROLES), a=rng.randint(2, 9))
    return _strip_accents(text) if rng.random() < 0.3 else text


def generate_kinds(seed: int, n_spam: int, n_ham: int) -> tuple[list[str], list[int]]:
    """Spam of the kinds issue 21 lists (tech-support numbers, praise + link, work from home,
    Vietnamese job and task scams) and hard ham beside them; its own seeded stream."""
    rng = random.Random(seed * 31 + 21)
    rows = [(kind_spam_comment(rng), 1) for _ in range(n_spam)]
    rows += [(kind_ham_comment(rng), 0) for _ in range(n_ham)]
    rng.shuffle(rows)
    return [t for t, _ in rows], [y for _, y in rows]
