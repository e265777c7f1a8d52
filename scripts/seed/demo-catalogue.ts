// Demo catalogue for the MovieHub (Vietnam) local stack: movies, cities, cinemas, prices, users.
// Pure data, no imports. Release dates are expressed relative to "today" so the demo never ages.

export type AgeRating = 'P' | 'K' | 'T13' | 'T16' | 'T18';
export type MovieStatus = 'COMING_SOON' | 'NOW_SHOWING' | 'ARCHIVED';
export type SeatType = 'STANDARD' | 'VIP' | 'COUPLE' | 'PREMIUM' | 'ACCESSIBLE';

export interface DemoMovie {
  key: string;
  title: string;
  originalTitle: string;
  synopsis: string;
  durationMinutes: number;
  ageRating: AgeRating;
  genres: string[];
  director: string;
  cast: string[];
  languages: string[];
  releaseOffsetDays: number;
  status: MovieStatus;
  posterUrl: string;
  trailerUrl: string;
}

export const DEMO_MOVIES: readonly DemoMovie[] = [
  // ---------------------------------------------------------------- NOW_SHOWING (Vietnamese)
  {
    key: 'lat-mat-7',
    title: 'Lật Mặt 7: Một Điều Ước',
    originalTitle: 'Lật Mặt 7: Một Điều Ước',
    synopsis:
      'Bà Hai, một người mẹ già sống một mình ở quê, bất ngờ gặp tai nạn và cần người chăm sóc. ' +
      'Năm người con đã trưởng thành, mỗi người bận rộn với cuộc sống riêng, lần lượt tìm lý do ' +
      'để thoái thác. Một câu chuyện gia đình giản dị mà day dứt về tình mẫu tử và chữ hiếu.',
    durationMinutes: 138,
    ageRating: 'K',
    genres: ['Drama', 'Family'],
    director: 'Lý Hải',
    cast: ['Thanh Hiền', 'Trương Minh Cường', 'Đinh Y Nhung', 'Quách Ngọc Tuyên', 'Trâm Anh'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -18,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/lat-mat-7.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/lat-mat-7.mp4',
  },
  {
    key: 'mai',
    title: 'Mai',
    originalTitle: 'Mai',
    synopsis:
      'Mai, một nữ nhân viên mát-xa mang trong mình quá khứ nhiều tổn thương, sống lặng lẽ ' +
      'giữa lòng Sài Gòn. Cuộc đời cô xáo trộn khi Dương, chàng trai trẻ vô tư ở cùng chung cư, ' +
      'kiên trì theo đuổi cô. Liệu Mai có dám mở lòng khi những định kiến và bóng ma quá khứ ' +
      'vẫn bủa vây?',
    durationMinutes: 131,
    ageRating: 'T18',
    genres: ['Drama', 'Romance'],
    director: 'Trấn Thành',
    cast: ['Phương Anh Đào', 'Tuấn Trần', 'Trấn Thành', 'Hồng Đào', 'Uyển Ân'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -41,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/mai.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/mai.mp4',
  },
  {
    key: 'nha-ba-nu',
    title: 'Nhà Bà Nữ',
    originalTitle: 'Nhà Bà Nữ',
    synopsis:
      'Bà Nữ gồng gánh quán bánh canh cua và cả gia đình ba thế hệ bằng sự nghiêm khắc ' +
      'đến ngột ngạt. Khi cô con gái út Nhi yêu John, một chàng trai xuất thân giàu có, ' +
      'mọi mâu thuẫn âm ỉ trong nhà bỗng bùng nổ. Bộ phim là tiếng cười xen lẫn nước mắt ' +
      'về khoảng cách giữa các thế hệ.',
    durationMinutes: 102,
    ageRating: 'T16',
    genres: ['Comedy', 'Drama', 'Family'],
    director: 'Trấn Thành',
    cast: ['Lê Giang', 'Uyển Ân', 'Song Luân', 'Trấn Thành', 'Khả Như'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -55,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/nha-ba-nu.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/nha-ba-nu.mp4',
  },
  {
    key: 'dao-pho-va-piano',
    title: 'Đào, Phở và Piano',
    originalTitle: 'Đào, Phở và Piano',
    synopsis:
      'Hà Nội, mùa đông năm 1946, những ngày cuối của cuộc chiến đấu giữ thủ đô. ' +
      'Giữa khu phố đổ nát, anh tự vệ Văn Dân gặp lại Thục Hương, cô tiểu thư quyết không ' +
      'rời bỏ căn nhà có cây đàn piano. Một bản tình ca thời chiến về lòng kiêu hãnh ' +
      'và sự kiên cường của người Hà Nội.',
    durationMinutes: 100,
    ageRating: 'T13',
    genres: ['Drama', 'Romance'],
    director: 'Phi Tiến Sơn',
    cast: ['Doãn Quốc Đam', 'Cao Thùy Linh', 'Trần Lực', 'Tuấn Hưng'],
    languages: ['Vietnamese', 'French'],
    releaseOffsetDays: -27,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/dao-pho-va-piano.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/dao-pho-va-piano.mp4',
  },
  {
    key: 'em-va-trinh',
    title: 'Em và Trịnh',
    originalTitle: 'Em và Trịnh',
    synopsis:
      'Qua cuộc gặp gỡ với Michiko, một nữ sinh viên Nhật Bản yêu nhạc Việt, người nhạc sĩ ' +
      'tài hoa nhớ lại tuổi trẻ và những bóng hồng đã đi qua đời mình. Mỗi mối tình là một ' +
      'nguồn cảm hứng cho những ca khúc bất hủ. Bộ phim âm nhạc tái hiện Huế và Sài Gòn ' +
      'của một thời đầy biến động.',
    durationMinutes: 136,
    ageRating: 'T13',
    genres: ['Musical', 'Romance', 'Drama'],
    director: 'Phan Gia Nhật Linh',
    cast: ['Avin Lu', 'Trần Lực', 'Hoàng Hà', 'Bùi Lan Hương', 'Lan Thy'],
    languages: ['Vietnamese', 'Japanese'],
    releaseOffsetDays: -33,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/em-va-trinh.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/em-va-trinh.mp4',
  },
  {
    key: 'ke-an-hon',
    title: 'Kẻ Ăn Hồn',
    originalTitle: 'Kẻ Ăn Hồn',
    synopsis:
      'Ngôi làng Địa Ngục liên tiếp xảy ra những cái chết bí ẩn, nạn nhân đều bị rút cạn ' +
      'linh hồn sau một đêm. Lần theo manh mối, những người sống sót phát hiện ra một thứ tà ' +
      'thuật cổ xưa đang được hồi sinh. Cái giá để chặn đứng kẻ ăn hồn có thể là chính mạng ' +
      'sống của họ.',
    durationMinutes: 109,
    ageRating: 'T18',
    genres: ['Horror', 'Thriller'],
    director: 'Trần Hữu Tấn',
    cast: ['Hoàng Hà', 'Võ Điền Gia Huy', 'Việt Hương', 'Huỳnh Thanh Trực'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -9,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/ke-an-hon.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/ke-an-hon.mp4',
  },
  {
    key: 'co-dau-hao-mon',
    title: 'Cô Dâu Hào Môn',
    originalTitle: 'Cô Dâu Hào Môn',
    synopsis:
      'Một cô gái xuất thân bình thường bất ngờ trở thành dâu út của gia tộc giàu có bậc ' +
      'nhất Sài Gòn. Phía sau những bữa tiệc xa hoa là luật lệ khắt khe, những cuộc đấu trí ' +
      'và bí mật mà ai cũng muốn giấu kín. Cô phải học cách tồn tại, hoặc bị nuốt chửng.',
    durationMinutes: 114,
    ageRating: 'T16',
    genres: ['Drama', 'Comedy', 'Romance'],
    director: 'Vũ Ngọc Đãng',
    cast: ['Uyển Ân', 'Samuel An', 'Thu Trang', 'Kiều Minh Tuấn'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -4,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/co-dau-hao-mon.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/co-dau-hao-mon.mp4',
  },
  {
    key: 'dat-rung-phuong-nam',
    title: 'Đất Rừng Phương Nam',
    originalTitle: 'Đất Rừng Phương Nam',
    synopsis:
      'Sau khi mẹ mất, cậu bé An một mình lưu lạc khắp miền Tây Nam Bộ để tìm cha. ' +
      'Trên hành trình ấy, An gặp những con người nghĩa hiệp giữa sông nước, rừng tràm ' +
      'và thời cuộc loạn lạc. Một bản hùng ca về tình người và lòng yêu nước phương Nam.',
    durationMinutes: 110,
    ageRating: 'T13',
    genres: ['Adventure', 'Drama', 'Family'],
    director: 'Nguyễn Quang Dũng',
    cast: ['Hạo Khang', 'Tuấn Trần', 'Trấn Thành', 'Mai Tài Phến', 'Hồng Ánh'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -47,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/dat-rung-phuong-nam.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/dat-rung-phuong-nam.mp4',
  },
  {
    key: 'mekong-chin-dong-chay',
    title: 'Mekong: Chín Dòng Chảy',
    originalTitle: 'Mekong: Chín Dòng Chảy',
    synopsis:
      'Một năm theo chân những người nông dân, ngư dân và nhà khoa học sống dọc chín nhánh ' +
      'sông Cửu Long. Từ mùa nước nổi đến những tháng hạn mặn khốc liệt, bộ phim ghi lại cách ' +
      'đồng bằng thích nghi với biến đổi khí hậu. Hình ảnh flycam được quay trong suốt 14 tháng.',
    durationMinutes: 88,
    ageRating: 'P',
    genres: ['Documentary'],
    director: 'Lương Minh Châu',
    cast: ['Nguyễn Văn Tám', 'Huỳnh Thị Bé Năm', 'Trần Quốc Việt'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -14,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/mekong-chin-dong-chay.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/mekong-chin-dong-chay.mp4',
  },
  // ------------------------------------------------------------- NOW_SHOWING (international)
  {
    key: 'dune-part-two',
    title: 'Dune: Part Two',
    originalTitle: 'Dune: Part Two',
    synopsis:
      'Paul Atreides unites with Chani and the Fremen as he seeks revenge against the ' +
      'conspirators who destroyed his family. Torn between the love of his life and the fate ' +
      'of the known universe, he must prevent a terrible future only he can foresee.',
    durationMinutes: 166,
    ageRating: 'T13',
    genres: ['Sci-Fi', 'Adventure', 'Drama'],
    director: 'Denis Villeneuve',
    cast: ['Timothée Chalamet', 'Zendaya', 'Rebecca Ferguson', 'Javier Bardem', 'Austin Butler'],
    languages: ['English'],
    releaseOffsetDays: -52,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/dune-part-two.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/dune-part-two.mp4',
  },
  {
    key: 'inside-out-2',
    title: 'Inside Out 2',
    originalTitle: 'Inside Out 2',
    synopsis:
      'Riley is now a teenager, and Headquarters is suddenly being demolished to make room ' +
      'for something entirely unexpected: new Emotions. Joy, Sadness, Anger, Fear and Disgust ' +
      'are not sure how to feel when Anxiety shows up, and she does not come alone.',
    durationMinutes: 96,
    ageRating: 'P',
    genres: ['Animation', 'Family', 'Comedy'],
    director: 'Kelsey Mann',
    cast: ['Amy Poehler', 'Maya Hawke', 'Kensington Tallman', 'Liza Lapira', 'Tony Hale'],
    languages: ['English'],
    releaseOffsetDays: -21,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/inside-out-2.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/inside-out-2.mp4',
  },
  {
    key: 'oppenheimer',
    title: 'Oppenheimer',
    originalTitle: 'Oppenheimer',
    synopsis:
      'During World War II, theoretical physicist J. Robert Oppenheimer is asked to lead the ' +
      'Manhattan Project in the New Mexico desert. His success changes the course of history, ' +
      'and the weight of what he has created follows him for the rest of his life.',
    durationMinutes: 180,
    ageRating: 'T18',
    genres: ['Drama', 'Thriller'],
    director: 'Christopher Nolan',
    cast: ['Cillian Murphy', 'Emily Blunt', 'Matt Damon', 'Robert Downey Jr.', 'Florence Pugh'],
    languages: ['English'],
    releaseOffsetDays: -58,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/oppenheimer.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/oppenheimer.mp4',
  },
  {
    key: 'godzilla-x-kong',
    title: 'Godzilla x Kong: The New Empire',
    originalTitle: 'Godzilla x Kong: The New Empire',
    synopsis:
      'A mysterious signal from deep within Hollow Earth draws Kong into a world of ancient ' +
      'secrets and a hidden threat to both Titans and humankind. To survive, the two rival ' +
      'giants must put their feud aside and fight side by side for the first time.',
    durationMinutes: 115,
    ageRating: 'T13',
    genres: ['Action', 'Sci-Fi', 'Adventure'],
    director: 'Adam Wingard',
    cast: ['Rebecca Hall', 'Brian Tyree Henry', 'Dan Stevens', 'Kaylee Hottle'],
    languages: ['English'],
    releaseOffsetDays: -36,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/godzilla-x-kong.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/godzilla-x-kong.mp4',
  },
  {
    key: 'kung-fu-panda-4',
    title: 'Kung Fu Panda 4',
    originalTitle: 'Kung Fu Panda 4',
    synopsis:
      'Po is asked to become the Spiritual Leader of the Valley of Peace and must first find ' +
      'and train the next Dragon Warrior. When a shape-shifting sorceress sets her sights on ' +
      'his staff, Po teams up with a quick-witted fox thief to stop her.',
    durationMinutes: 94,
    ageRating: 'P',
    genres: ['Animation', 'Comedy', 'Family', 'Action'],
    director: 'Mike Mitchell',
    cast: ['Jack Black', 'Awkwafina', 'Viola Davis', 'Dustin Hoffman', 'Ke Huy Quan'],
    languages: ['English'],
    releaseOffsetDays: -44,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/kung-fu-panda-4.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/kung-fu-panda-4.mp4',
  },
  {
    key: 'deadpool-and-wolverine',
    title: 'Deadpool & Wolverine',
    originalTitle: 'Deadpool & Wolverine',
    synopsis:
      'A listless Wade Wilson is pulled out of retirement by a bureaucratic agency with plans ' +
      'for his entire universe. To save everyone he loves, he has to recruit a very reluctant ' +
      'Wolverine, and neither of them is good at teamwork.',
    durationMinutes: 128,
    ageRating: 'T18',
    genres: ['Action', 'Comedy', 'Sci-Fi'],
    director: 'Shawn Levy',
    cast: ['Ryan Reynolds', 'Hugh Jackman', 'Emma Corrin', 'Matthew Macfadyen'],
    languages: ['English'],
    releaseOffsetDays: -16,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/deadpool-and-wolverine.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/deadpool-and-wolverine.mp4',
  },
  {
    key: 'wicked',
    title: 'Wicked',
    originalTitle: 'Wicked',
    synopsis:
      'Long before Dorothy arrives in Oz, green-skinned Elphaba and the popular Galinda meet ' +
      'as unlikely roommates at Shiz University. Their friendship is tested by an invitation ' +
      'to meet the Wonderful Wizard, and by the truths they discover about Oz itself.',
    durationMinutes: 160,
    ageRating: 'K',
    genres: ['Musical', 'Fantasy', 'Drama'],
    director: 'Jon M. Chu',
    cast: ['Cynthia Erivo', 'Ariana Grande', 'Jonathan Bailey', 'Michelle Yeoh', 'Jeff Goldblum'],
    languages: ['English'],
    releaseOffsetDays: -30,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/wicked.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/wicked.mp4',
  },
  {
    key: 'moana-2',
    title: 'Moana 2',
    originalTitle: 'Moana 2',
    synopsis:
      'After receiving an unexpected call from her wayfinding ancestors, Moana journeys to ' +
      'the far seas of Oceania and into dangerous, long-lost waters. With Maui and a new crew ' +
      'of unlikely seafarers, she sets out on an adventure unlike anything she has faced.',
    durationMinutes: 100,
    ageRating: 'P',
    genres: ['Animation', 'Adventure', 'Musical', 'Family'],
    director: 'David G. Derrick Jr.',
    cast: ['Auliʻi Cravalho', 'Dwayne Johnson', 'Hualālai Chung', 'Rose Matafeo', 'David Fane'],
    languages: ['English'],
    releaseOffsetDays: -11,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/moana-2.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/moana-2.mp4',
  },
  {
    key: 'gladiator-2',
    title: 'Gladiator II',
    originalTitle: 'Gladiator II',
    synopsis:
      'Years after witnessing the death of the revered hero Maximus, Lucius is forced into ' +
      'the Colosseum after his home is conquered by the tyrannical emperors who now rule Rome. ' +
      'With rage in his heart, he must look to his past to return the glory of Rome to its people.',
    durationMinutes: 148,
    ageRating: 'T18',
    genres: ['Action', 'Drama', 'Adventure'],
    director: 'Ridley Scott',
    cast: ['Paul Mescal', 'Pedro Pascal', 'Denzel Washington', 'Connie Nielsen', 'Joseph Quinn'],
    languages: ['English'],
    releaseOffsetDays: -7,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/gladiator-2.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/gladiator-2.mp4',
  },
  {
    key: 'furiosa',
    title: 'Furiosa: A Mad Max Saga',
    originalTitle: 'Furiosa: A Mad Max Saga',
    synopsis:
      'Snatched from the Green Place of Many Mothers, young Furiosa falls into the hands of a ' +
      'great biker horde led by the warlord Dementus. Sweeping through the Wasteland, she must ' +
      'survive many trials as she puts together the means to find her way home.',
    durationMinutes: 148,
    ageRating: 'T18',
    genres: ['Action', 'Adventure', 'Sci-Fi'],
    director: 'George Miller',
    cast: ['Anya Taylor-Joy', 'Chris Hemsworth', 'Tom Burke', 'Alyla Browne'],
    languages: ['English'],
    releaseOffsetDays: -39,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/furiosa.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/furiosa.mp4',
  },
  {
    key: 'twisters',
    title: 'Twisters',
    originalTitle: 'Twisters',
    synopsis:
      'Haunted by a devastating encounter with a tornado, former storm chaser Kate is lured ' +
      'back to the open plains of Oklahoma to test a groundbreaking tracking system. There she ' +
      'crosses paths with a reckless social-media star who chases storms for his fans.',
    durationMinutes: 122,
    ageRating: 'T13',
    genres: ['Action', 'Thriller', 'Adventure'],
    director: 'Lee Isaac Chung',
    cast: ['Daisy Edgar-Jones', 'Glen Powell', 'Anthony Ramos', 'Maura Tierney'],
    languages: ['English'],
    releaseOffsetDays: -25,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/twisters.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/twisters.mp4',
  },
  {
    key: 'alien-romulus',
    title: 'Alien: Romulus',
    originalTitle: 'Alien: Romulus',
    synopsis:
      'A group of young colonists scavenging a derelict space station hope to find a way off ' +
      'their bleak mining world. Deep inside its abandoned corridors they come face to face ' +
      'with the most terrifying life form in the universe.',
    durationMinutes: 119,
    ageRating: 'T18',
    genres: ['Horror', 'Sci-Fi', 'Thriller'],
    director: 'Fede Álvarez',
    cast: ['Cailee Spaeny', 'David Jonsson', 'Archie Renaux', 'Isabela Merced', 'Aileen Wu'],
    languages: ['English'],
    releaseOffsetDays: -19,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/alien-romulus.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/alien-romulus.mp4',
  },
  {
    key: 'the-wild-robot',
    title: 'The Wild Robot',
    originalTitle: 'The Wild Robot',
    synopsis:
      'After a shipwreck, an intelligent robot called Roz is stranded on an uninhabited ' +
      'island. To survive the harsh environment, she bonds with the island’s animals and ' +
      'cares for an orphaned baby goose, learning what it means to be alive.',
    durationMinutes: 102,
    ageRating: 'P',
    genres: ['Animation', 'Family', 'Sci-Fi', 'Adventure'],
    director: 'Chris Sanders',
    cast: ['Lupita Nyong’o', 'Pedro Pascal', 'Kit Connor', 'Bill Nighy', 'Catherine O’Hara'],
    languages: ['English'],
    releaseOffsetDays: -2,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/the-wild-robot.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/the-wild-robot.mp4',
  },
  {
    key: 'exhuma',
    title: 'Exhuma: Quật Mộ Trùng Ma',
    originalTitle: '파묘',
    synopsis:
      'A young shaman and her apprentice are hired by a wealthy family in Los Angeles whose ' +
      'newborn suffers from an inexplicable illness. Together with a veteran geomancer and a ' +
      'mortician, they agree to exhume an ancestral grave, unleashing something far older.',
    durationMinutes: 134,
    ageRating: 'T18',
    genres: ['Horror', 'Thriller'],
    director: 'Jang Jae-hyun',
    cast: ['Choi Min-sik', 'Kim Go-eun', 'Yoo Hae-jin', 'Lee Do-hyun'],
    languages: ['Korean'],
    releaseOffsetDays: -23,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/exhuma.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/exhuma.mp4',
  },
  {
    key: 'kingdom-of-the-planet-of-the-apes',
    title: 'Kingdom of the Planet of the Apes',
    originalTitle: 'Kingdom of the Planet of the Apes',
    synopsis:
      'Many generations after the reign of Caesar, apes are the dominant species and humans ' +
      'live in the shadows. When a tyrannical ape leader builds his empire, a young chimpanzee ' +
      'named Noa undertakes a harrowing journey that will decide the future of both.',
    durationMinutes: 145,
    ageRating: 'T13',
    genres: ['Sci-Fi', 'Action', 'Adventure'],
    director: 'Wes Ball',
    cast: ['Owen Teague', 'Freya Allan', 'Kevin Durand', 'Peter Macon', 'William H. Macy'],
    languages: ['English'],
    releaseOffsetDays: -49,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/kingdom-of-the-planet-of-the-apes.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/kingdom-of-the-planet-of-the-apes.mp4',
  },
  {
    key: 'the-fall-guy',
    title: 'The Fall Guy',
    originalTitle: 'The Fall Guy',
    synopsis:
      'Battle-scarred stuntman Colt Seavers is called back to work when the star of a ' +
      'blockbuster directed by his ex goes missing. Soon he is caught in a real conspiracy, ' +
      'doing his own stunts for real while trying to win back the love of his life.',
    durationMinutes: 126,
    ageRating: 'T13',
    genres: ['Action', 'Comedy', 'Romance'],
    director: 'David Leitch',
    cast: ['Ryan Gosling', 'Emily Blunt', 'Aaron Taylor-Johnson', 'Hannah Waddingham'],
    languages: ['English'],
    releaseOffsetDays: -60,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/the-fall-guy.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/the-fall-guy.mp4',
  },
  {
    key: 'venom-the-last-dance',
    title: 'Venom: The Last Dance',
    originalTitle: 'Venom: The Last Dance',
    synopsis:
      'Eddie Brock and Venom are on the run, hunted by both of their worlds as the net closes ' +
      'in around them. Forced into a devastating decision, the duo faces one last adventure ' +
      'that will bring the curtains down on their partnership.',
    durationMinutes: 109,
    ageRating: 'T13',
    genres: ['Action', 'Sci-Fi', 'Comedy'],
    director: 'Kelly Marcel',
    cast: ['Tom Hardy', 'Chiwetel Ejiofor', 'Juno Temple', 'Rhys Ifans'],
    languages: ['English'],
    releaseOffsetDays: 0,
    status: 'NOW_SHOWING',
    posterUrl: 'https://images.moviehub.example/posters/venom-the-last-dance.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/venom-the-last-dance.mp4',
  },
  // ------------------------------------------------------------------------------ COMING_SOON
  {
    key: 'zootopia-2',
    title: 'Phi Vụ Động Trời 2',
    originalTitle: 'Zootopia 2',
    synopsis:
      'Rookie partners Judy Hopps and Nick Wilde find themselves on the twisting trail of a ' +
      'mysterious reptile who arrives in Zootopia and turns the mammal metropolis upside down. ' +
      'To crack the case, they must go undercover in unexpected new parts of the city.',
    durationMinutes: 108,
    ageRating: 'P',
    genres: ['Animation', 'Comedy', 'Family', 'Adventure'],
    director: 'Jared Bush, Byron Howard',
    cast: ['Ginnifer Goodwin', 'Jason Bateman', 'Ke Huy Quan', 'Fortune Feimster'],
    languages: ['English'],
    releaseOffsetDays: 5,
    status: 'COMING_SOON',
    posterUrl: 'https://images.moviehub.example/posters/zootopia-2.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/zootopia-2.mp4',
  },
  {
    key: 'wicked-for-good',
    title: 'Wicked: For Good',
    originalTitle: 'Wicked: For Good',
    synopsis:
      'Now demonized as the Wicked Witch of the West, Elphaba lives in exile in the Ozian ' +
      'forest while Glinda has become the glamorous symbol of Goodness for all of Oz. ' +
      'As an angry mob rises, the two friends must come together one final time.',
    durationMinutes: 137,
    ageRating: 'K',
    genres: ['Musical', 'Fantasy', 'Drama'],
    director: 'Jon M. Chu',
    cast: ['Cynthia Erivo', 'Ariana Grande', 'Jonathan Bailey', 'Ethan Slater', 'Michelle Yeoh'],
    languages: ['English'],
    releaseOffsetDays: 12,
    status: 'COMING_SOON',
    posterUrl: 'https://images.moviehub.example/posters/wicked-for-good.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/wicked-for-good.mp4',
  },
  {
    key: 'tron-ares',
    title: 'Tron: Ares',
    originalTitle: 'Tron: Ares',
    synopsis:
      'A highly sophisticated program called Ares is sent from the digital world into the ' +
      'real world on a dangerous mission. It marks humankind’s first encounter with ' +
      'artificial intelligence beings, and nothing will be the same again.',
    durationMinutes: 119,
    ageRating: 'T13',
    genres: ['Sci-Fi', 'Action'],
    director: 'Joachim Rønning',
    cast: ['Jared Leto', 'Greta Lee', 'Evan Peters', 'Gillian Anderson', 'Jeff Bridges'],
    languages: ['English'],
    releaseOffsetDays: 19,
    status: 'COMING_SOON',
    posterUrl: 'https://images.moviehub.example/posters/tron-ares.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/tron-ares.mp4',
  },
  {
    key: 'mufasa-the-lion-king',
    title: 'Mufasa: Vua Sư Tử',
    originalTitle: 'Mufasa: The Lion King',
    synopsis:
      'Rafiki relays the legend of Mufasa to young lion cub Kiara, daughter of Simba and Nala. ' +
      'Told in flashbacks, it follows an orphaned cub, lost and alone, who meets a sympathetic ' +
      'lion named Taka, heir to a royal bloodline, and sets off on an extraordinary journey.',
    durationMinutes: 118,
    ageRating: 'P',
    genres: ['Adventure', 'Family', 'Musical', 'Drama'],
    director: 'Barry Jenkins',
    cast: ['Aaron Pierre', 'Kelvin Harrison Jr.', 'Tiffany Boone', 'Seth Rogen', 'Billy Eichner'],
    languages: ['English'],
    releaseOffsetDays: 26,
    status: 'COMING_SOON',
    posterUrl: 'https://images.moviehub.example/posters/mufasa-the-lion-king.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/mufasa-the-lion-king.mp4',
  },
  {
    key: 'biet-doi-song-han',
    title: 'Biệt Đội Sông Hàn',
    originalTitle: 'Biệt Đội Sông Hàn',
    synopsis:
      'Một đường dây buôn lậu cổ vật Chăm Pa bất ngờ lộ diện giữa mùa lễ hội pháo hoa Đà Nẵng. ' +
      'Đội trưởng cảnh sát cơ động Khang buộc phải hợp tác với một nữ hacker từng bị anh bắt ' +
      'giữ. Họ chỉ có 72 giờ trước khi lô hàng rời cảng Tiên Sa.',
    durationMinutes: 112,
    ageRating: 'T16',
    genres: ['Action', 'Crime', 'Thriller'],
    director: 'Nguyễn Hoàng Phúc',
    cast: ['Trần Đức Khang', 'Lê Bảo Ngọc', 'Võ Minh Tâm', 'Đặng Quỳnh Như'],
    languages: ['Vietnamese'],
    releaseOffsetDays: 9,
    status: 'COMING_SOON',
    posterUrl: 'https://images.moviehub.example/posters/biet-doi-song-han.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/biet-doi-song-han.mp4',
  },
  {
    key: 'chuyen-tau-cuoi-ve-hue',
    title: 'Chuyến Tàu Cuối Về Huế',
    originalTitle: 'Chuyến Tàu Cuối Về Huế',
    synopsis:
      'Đêm 30 Tết, hai người lạ cùng lỡ chuyến bay và buộc phải ngồi chung khoang trên chuyến ' +
      'tàu Thống Nhất cuối cùng về Huế. Qua đèo Hải Vân, những câu chuyện dang dở của họ dần ' +
      'hé lộ. Một bộ phim lãng mạn nhẹ nhàng về sự trở về và những cơ hội thứ hai.',
    durationMinutes: 104,
    ageRating: 'T13',
    genres: ['Romance', 'Drama'],
    director: 'Phạm Thu Trang',
    cast: ['Hoàng Minh Khôi', 'Ngô Thanh Hằng', 'Lý Gia Bảo'],
    languages: ['Vietnamese'],
    releaseOffsetDays: 33,
    status: 'COMING_SOON',
    posterUrl: 'https://images.moviehub.example/posters/chuyen-tau-cuoi-ve-hue.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/chuyen-tau-cuoi-ve-hue.mp4',
  },
  {
    key: 'son-doong-long-dat-ky-vi',
    title: 'Sơn Đoòng: Lòng Đất Kỳ Vĩ',
    originalTitle: 'Sơn Đoòng: Lòng Đất Kỳ Vĩ',
    synopsis:
      'Đoàn thám hiểm sáu người dành 21 ngày trong lòng hang Sơn Đoòng, hang động tự nhiên ' +
      'lớn nhất thế giới ở Quảng Bình. Bộ phim tài liệu được quay bằng máy quay độ phân giải ' +
      'cao, đưa khán giả đến những khu rừng nguyên sinh và dòng sông ngầm chưa từng được ghi hình.',
    durationMinutes: 82,
    ageRating: 'P',
    genres: ['Documentary', 'Adventure'],
    director: 'Đỗ Quang Huy',
    cast: ['Nguyễn Hữu Long', 'Trương Thị Mỹ Duyên', 'Đinh Văn Sáng'],
    languages: ['Vietnamese', 'English'],
    releaseOffsetDays: 45,
    status: 'COMING_SOON',
    posterUrl: 'https://images.moviehub.example/posters/son-doong-long-dat-ky-vi.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/son-doong-long-dat-ky-vi.mp4',
  },
  // --------------------------------------------------------------------------------- ARCHIVED
  {
    key: 'bo-gia',
    title: 'Bố Già',
    originalTitle: 'Bố Già',
    synopsis:
      'Ba Sang là ông bố tốt bụng nhưng hay lo chuyện bao đồng trong một con hẻm nhỏ ở Sài Gòn. ' +
      'Cậu con trai Quắn, một YouTuber trẻ, luôn muốn thoát khỏi sự bao bọc của cha. ' +
      'Khoảng cách thế hệ khiến hai cha con liên tục va chạm, cho đến khi biến cố ập đến.',
    durationMinutes: 128,
    ageRating: 'T13',
    genres: ['Comedy', 'Drama', 'Family'],
    director: 'Trấn Thành, Vũ Ngọc Đãng',
    cast: ['Trấn Thành', 'Tuấn Trần', 'Ngân Chi', 'Lê Giang', 'Lê Trang'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -410,
    status: 'ARCHIVED',
    posterUrl: 'https://images.moviehub.example/posters/bo-gia.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/bo-gia.mp4',
  },
  {
    key: 'hai-phuong',
    title: 'Hai Phượng',
    originalTitle: 'Hai Phượng',
    synopsis:
      'Hai Phượng từng là tay anh chị khét tiếng, nay sống ẩn dật ở miền Tây cùng con gái nhỏ. ' +
      'Khi con bé bị một đường dây buôn bán nội tạng bắt cóc, cô lao lên Sài Gòn truy đuổi. ' +
      'Không còn gì để mất, người mẹ sẵn sàng đối đầu với cả thế giới ngầm.',
    durationMinutes: 98,
    ageRating: 'T18',
    genres: ['Action', 'Crime', 'Thriller'],
    director: 'Lê Văn Kiệt',
    cast: ['Ngô Thanh Vân', 'Mai Cát Vi', 'Phan Thanh Nhiên', 'Trần Thanh Hoa'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -820,
    status: 'ARCHIVED',
    posterUrl: 'https://images.moviehub.example/posters/hai-phuong.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/hai-phuong.mp4',
  },
  {
    key: 'tiec-trang-mau',
    title: 'Tiệc Trăng Máu',
    originalTitle: 'Tiệc Trăng Máu',
    synopsis:
      'Bảy người bạn thân tụ họp trong bữa tối đúng đêm nguyệt thực và đồng ý chơi một trò ' +
      'chơi: công khai mọi tin nhắn, cuộc gọi đến điện thoại của mình. Những bí mật lần lượt ' +
      'bị phơi bày, biến buổi tiệc vui vẻ thành một cuộc khủng hoảng.',
    durationMinutes: 118,
    ageRating: 'T18',
    genres: ['Comedy', 'Drama', 'Thriller'],
    director: 'Nguyễn Quang Dũng',
    cast: ['Thái Hòa', 'Hồng Ánh', 'Thu Trang', 'Kiều Minh Tuấn', 'Kaity Nguyễn'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -640,
    status: 'ARCHIVED',
    posterUrl: 'https://images.moviehub.example/posters/tiec-trang-mau.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/tiec-trang-mau.mp4',
  },
  {
    key: 'gai-gia-lam-chieu-5',
    title: 'Gái Già Lắm Chiêu V: Những Cuộc Đời Vương Giả',
    originalTitle: 'Gái Già Lắm Chiêu V: Những Cuộc Đời Vương Giả',
    synopsis:
      'Giữa lòng cố đô Huế, một gia tộc quyền quý vẫn giữ nếp sống vương giả đầy lễ nghi. ' +
      'Khi cô cháu gái cá tính từ nước ngoài trở về, những bà mệ khó tính và các chị em trong ' +
      'nhà bắt đầu một cuộc đấu trí dở khóc dở cười quanh chuyện hôn nhân và thừa kế.',
    durationMinutes: 115,
    ageRating: 'T16',
    genres: ['Comedy', 'Drama'],
    director: 'Bảo Nhân, Namcito',
    cast: ['Lê Khanh', 'Hồng Vân', 'Kaity Nguyễn', 'Ninh Dương Lan Ngọc', 'Diễm My 9X'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -730,
    status: 'ARCHIVED',
    posterUrl: 'https://images.moviehub.example/posters/gai-gia-lam-chieu-5.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/gai-gia-lam-chieu-5.mp4',
  },
  {
    key: 'mat-biec',
    title: 'Mắt Biếc',
    originalTitle: 'Mắt Biếc',
    synopsis:
      'Ngạn lớn lên ở làng Đo Đo và dành cả tuổi thơ lẫn tuổi trẻ để yêu thầm Hà Lan, ' +
      'cô bạn có đôi mắt biếc. Khi Hà Lan lên thành phố và bị cuốn vào một cuộc sống khác, ' +
      'Ngạn vẫn lặng lẽ dõi theo. Một mối tình đơn phương buồn và đẹp qua nhiều năm tháng.',
    durationMinutes: 117,
    ageRating: 'T13',
    genres: ['Romance', 'Drama'],
    director: 'Victor Vũ',
    cast: ['Trần Nghĩa', 'Trúc Anh', 'Trần Phong', 'Khánh Vân'],
    languages: ['Vietnamese'],
    releaseOffsetDays: -1095,
    status: 'ARCHIVED',
    posterUrl: 'https://images.moviehub.example/posters/mat-biec.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/mat-biec.mp4',
  },
  {
    key: 'suzume',
    title: 'Khóa Chặt Cửa Nào Suzume',
    originalTitle: 'すずめの戸締まり',
    synopsis:
      'Seventeen-year-old Suzume meets a mysterious young man searching for doors in ' +
      'abandoned places across Japan. When she opens one of them, disasters begin to spill ' +
      'through, and she sets out on a journey to close the doors before it is too late.',
    durationMinutes: 122,
    ageRating: 'K',
    genres: ['Animation', 'Fantasy', 'Adventure'],
    director: 'Makoto Shinkai',
    cast: ['Nanoka Hara', 'Hokuto Matsumura', 'Eri Fukatsu', 'Shota Sometani'],
    languages: ['Japanese'],
    releaseOffsetDays: -540,
    status: 'ARCHIVED',
    posterUrl: 'https://images.moviehub.example/posters/suzume.jpg',
    trailerUrl: 'https://videos.moviehub.example/trailers/suzume.mp4',
  },
];

export interface DemoCity {
  key: string;
  name: string;
}

export const DEMO_CITIES: readonly DemoCity[] = [
  { key: 'ha-noi', name: 'Hà Nội' },
  { key: 'ho-chi-minh', name: 'Hồ Chí Minh' },
  { key: 'da-nang', name: 'Đà Nẵng' },
];

export interface DemoHall {
  key: string;
  name: string;
  layout: 'STANDARD_SMALL' | 'STANDARD_LARGE' | 'IMAX' | 'PREMIUM';
  formats: ('2D' | '3D' | 'IMAX')[];
}

export interface DemoCinema {
  key: string;
  name: string;
  cityKey: string;
  address: string;
  latitude: number;
  longitude: number;
  halls: DemoHall[];
}

export const DEMO_CINEMAS: readonly DemoCinema[] = [
  {
    key: 'hn-vincom-ba-trieu',
    name: 'MovieHub Vincom Bà Triệu',
    cityKey: 'ha-noi',
    address: 'Tầng 6, Vincom Center, 191 Bà Triệu, Phường Lê Đại Hành, Quận Hai Bà Trưng, Hà Nội',
    latitude: 21.0115,
    longitude: 105.8496,
    halls: [
      {
        key: 'hn-vincom-ba-trieu-h1',
        name: 'Hall 1',
        layout: 'STANDARD_LARGE',
        formats: ['2D', '3D'],
      },
      { key: 'hn-vincom-ba-trieu-h2', name: 'Hall 2', layout: 'STANDARD_SMALL', formats: ['2D'] },
      {
        key: 'hn-vincom-ba-trieu-imax',
        name: 'IMAX Hall',
        layout: 'IMAX',
        formats: ['2D', '3D', 'IMAX'],
      },
    ],
  },
  {
    key: 'hn-royal-city',
    name: 'MovieHub Royal City',
    cityKey: 'ha-noi',
    address: 'Tầng B2, Vincom Mega Mall Royal City, 72A Nguyễn Trãi, Quận Thanh Xuân, Hà Nội',
    latitude: 21.0027,
    longitude: 105.8155,
    halls: [
      { key: 'hn-royal-city-h1', name: 'Hall 1', layout: 'STANDARD_LARGE', formats: ['2D', '3D'] },
      { key: 'hn-royal-city-h2', name: 'Hall 2', layout: 'STANDARD_LARGE', formats: ['2D', '3D'] },
      { key: 'hn-royal-city-h3', name: 'Hall 3', layout: 'STANDARD_SMALL', formats: ['2D'] },
      { key: 'hn-royal-city-gold', name: 'Gold Class', layout: 'PREMIUM', formats: ['2D'] },
    ],
  },
  {
    key: 'hcm-landmark-81',
    name: 'MovieHub Landmark 81',
    cityKey: 'ho-chi-minh',
    address: 'Tầng B1, Vincom Landmark 81, 720A Điện Biên Phủ, Phường 22, Quận Bình Thạnh, TP.HCM',
    latitude: 10.795,
    longitude: 106.7219,
    halls: [
      {
        key: 'hcm-landmark-81-imax',
        name: 'IMAX Hall',
        layout: 'IMAX',
        formats: ['2D', '3D', 'IMAX'],
      },
      { key: 'hcm-landmark-81-gold', name: 'Gold Class', layout: 'PREMIUM', formats: ['2D', '3D'] },
      {
        key: 'hcm-landmark-81-h1',
        name: 'Hall 1',
        layout: 'STANDARD_LARGE',
        formats: ['2D', '3D'],
      },
      { key: 'hcm-landmark-81-h2', name: 'Hall 2', layout: 'STANDARD_SMALL', formats: ['2D'] },
    ],
  },
  {
    key: 'hcm-nguyen-du',
    name: 'MovieHub Nguyễn Du',
    cityKey: 'ho-chi-minh',
    address: '116 Nguyễn Du, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh',
    latitude: 10.7736,
    longitude: 106.6934,
    halls: [
      { key: 'hcm-nguyen-du-h1', name: 'Hall 1', layout: 'STANDARD_LARGE', formats: ['2D', '3D'] },
      { key: 'hcm-nguyen-du-h2', name: 'Hall 2', layout: 'STANDARD_SMALL', formats: ['2D'] },
      { key: 'hcm-nguyen-du-h3', name: 'Hall 3', layout: 'STANDARD_SMALL', formats: ['2D'] },
    ],
  },
  {
    key: 'dn-vincom-ngo-quyen',
    name: 'MovieHub Vincom Ngô Quyền',
    cityKey: 'da-nang',
    address: 'Tầng 4, Vincom Plaza, 910A Ngô Quyền, Phường An Hải Bắc, Quận Sơn Trà, Đà Nẵng',
    latitude: 16.0716,
    longitude: 108.2302,
    halls: [
      {
        key: 'dn-vincom-ngo-quyen-h1',
        name: 'Hall 1',
        layout: 'STANDARD_LARGE',
        formats: ['2D', '3D'],
      },
      { key: 'dn-vincom-ngo-quyen-h2', name: 'Hall 2', layout: 'STANDARD_SMALL', formats: ['2D'] },
      {
        key: 'dn-vincom-ngo-quyen-gold',
        name: 'Gold Class',
        layout: 'PREMIUM',
        formats: ['2D', '3D'],
      },
    ],
  },
  {
    key: 'dn-vinh-trung-plaza',
    name: 'MovieHub Vĩnh Trung Plaza',
    cityKey: 'da-nang',
    address: '255-257 Hùng Vương, Phường Vĩnh Trung, Quận Thanh Khê, Đà Nẵng',
    latitude: 16.0672,
    longitude: 108.2125,
    halls: [
      {
        key: 'dn-vinh-trung-plaza-h1',
        name: 'Hall 1',
        layout: 'STANDARD_LARGE',
        formats: ['2D', '3D'],
      },
      { key: 'dn-vinh-trung-plaza-h2', name: 'Hall 2', layout: 'STANDARD_SMALL', formats: ['2D'] },
    ],
  },
];

// Base ticket price in VND per city key and seat type, 2D format.
export const DEMO_PRICES: Readonly<Record<string, Readonly<Record<SeatType, number>>>> = {
  'ha-noi': {
    STANDARD: 90000,
    VIP: 115000,
    COUPLE: 230000,
    PREMIUM: 175000,
    ACCESSIBLE: 75000,
  },
  'ho-chi-minh': {
    STANDARD: 95000,
    VIP: 120000,
    COUPLE: 240000,
    PREMIUM: 180000,
    ACCESSIBLE: 80000,
  },
  'da-nang': {
    STANDARD: 80000,
    VIP: 100000,
    COUPLE: 205000,
    PREMIUM: 155000,
    ACCESSIBLE: 70000,
  },
};

// Surcharge in VND added to the base price per projection format.
export const FORMAT_SURCHARGE: Readonly<Record<'2D' | '3D' | 'IMAX', number>> = {
  '2D': 0,
  '3D': 30000,
  IMAX: 70000,
};

export interface DemoUser {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  role: 'CUSTOMER' | 'STAFF' | 'ADMIN';
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    id: 'demo-customer',
    email: 'customer@moviehub.example',
    name: 'Nguyễn Minh Anh',
    phone: '+84901234567',
    role: 'CUSTOMER',
  },
  {
    id: 'demo-customer-2',
    email: 'customer2@moviehub.example',
    name: 'Trần Thu Hà',
    phone: null,
    role: 'CUSTOMER',
  },
  {
    id: 'demo-staff',
    email: 'staff@moviehub.example',
    name: 'Lê Quốc Bảo',
    phone: '+84938765432',
    role: 'STAFF',
  },
  {
    id: 'demo-admin',
    email: 'admin@moviehub.example',
    name: 'Phạm Thị Lan',
    phone: '+84912345678',
    role: 'ADMIN',
  },
];
