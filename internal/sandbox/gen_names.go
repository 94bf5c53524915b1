package sandbox

// Vocabulary of the synthetic customer base.

type industryDef struct {
	sf       string    // Salesforce Industry value
	ja, en   [2]string // name patterns, %s = root
	descJA   string
	descEN   string
	affinity [8]float64 // base product fit, index = Products
	weight   float64
}

var industries = []industryDef{
	{"Manufacturing", [2]string{"株式会社%s製作所", "%s工業株式会社"}, [2]string{"%s Manufacturing", "%s Industries"},
		"精密部品・産業機械メーカー", "Precision parts and industrial machinery maker",
		[8]float64{.6, .7, .3, .5, .4, .5, .2, .5}, 1.4},
	{"Retail", [2]string{"%s商事株式会社", "株式会社%sストア"}, [2]string{"%s Retail Group", "%s Stores"},
		"全国展開の小売チェーン", "Multi-region retail chain",
		[8]float64{.8, .4, .3, .4, .3, .4, .8, .2}, 1.2},
	{"Finance", [2]string{"%s証券株式会社", "%sフィナンシャル株式会社"}, [2]string{"%s Capital", "%s Financial"},
		"金融サービス・資産運用", "Financial services and asset management",
		[8]float64{.7, .6, .9, .6, .3, .6, .3, .4}, 1.0},
	{"Healthcare", [2]string{"医療法人%s会", "%sメディカル株式会社"}, [2]string{"%s Health", "%s Medical"},
		"病院・医療機器", "Hospitals and medical devices",
		[8]float64{.5, .5, .8, .7, .5, .3, .4, .3}, 0.9},
	{"Technology", [2]string{"株式会社%sシステムズ", "%sテクノロジー株式会社"}, [2]string{"%s Software", "%s Labs"},
		"SaaS・ソフトウェア開発", "SaaS and software development",
		[8]float64{.6, .8, .6, .3, .2, .9, .6, .2}, 1.3},
	{"Transportation", [2]string{"%s運輸株式会社", "%sロジスティクス株式会社"}, [2]string{"%s Logistics", "%s Freight"},
		"物流・倉庫・配送", "Logistics, warehousing and delivery",
		[8]float64{.6, .5, .2, .5, .4, .6, .8, .3}, 1.0},
	{"Education", [2]string{"学校法人%s学園", "株式会社%s教育"}, [2]string{"%s Academy", "%s Learning"},
		"教育機関・研修サービス", "Education and training provider",
		[8]float64{.4, .2, .3, .4, .9, .2, .5, .3}, 0.7},
	{"Energy", [2]string{"%s電力株式会社", "%sエネルギー株式会社"}, [2]string{"%s Energy", "%s Power"},
		"電力・エネルギー供給", "Power generation and energy supply",
		[8]float64{.7, .8, .7, .5, .3, .4, .2, .6}, 0.6},
	{"Construction", [2]string{"%s建設株式会社", "株式会社%s組"}, [2]string{"%s Construction", "%s Builders"},
		"総合建設・設備工事", "General contractor and facilities",
		[8]float64{.5, .3, .2, .6, .6, .2, .7, .6}, 0.8},
	{"Media", [2]string{"株式会社%sメディア", "%s出版株式会社"}, [2]string{"%s Media", "%s Studios"},
		"出版・デジタルメディア", "Publishing and digital media",
		[8]float64{.8, .4, .3, .3, .3, .7, .6, .2}, 0.7},
}

type bandDef struct {
	name       string
	min, max   int
	weight     float64
	amount     float64 // multiplier of list prices
	activity   float64 // multiplier of activity volume
	rate       float64 // multiplier of the purchase rate
	contactsLo int
}

// SizeBands are the employee-count bands of the synthetic accounts.
var SizeBands = []string{"1-50", "51-200", "201-1000", "1001-5000", "5000+"}

var bands = []bandDef{
	{"1-50", 5, 50, .30, 0.3, 0.6, 0.8, 2},
	{"51-200", 51, 200, .28, 0.8, 0.8, 0.9, 2},
	{"201-1000", 201, 1000, .22, 2, 1.0, 1.0, 3},
	{"1001-5000", 1001, 5000, .13, 5, 1.3, 1.1, 3},
	{"5000+", 5001, 60000, .07, 12, 1.6, 1.2, 4},
}

// SizeBandOf returns the band of an employee count.
func SizeBandOf(employees int) string {
	for _, b := range bands {
		if employees <= b.max {
			return b.name
		}
	}
	return bands[len(bands)-1].name
}

// listPrices are the annual list prices of Products, index for index.
var listPrices = [8]float64{24000, 60000, 12000, 8000, 5000, 10000, 7000, 30000}

var rootsJA = [][2]string{
	{"山田", "yamada"}, {"東海", "tokai"}, {"北斗", "hokuto"}, {"中央", "chuo"}, {"大和", "yamato"},
	{"富士", "fuji"}, {"三協", "sankyo"}, {"昭和", "showa"}, {"新光", "shinko"}, {"旭", "asahi"},
	{"青葉", "aoba"}, {"桜", "sakura"}, {"瑞穂", "mizuho"}, {"光洋", "koyo"}, {"平和", "heiwa"},
	{"協和", "kyowa"}, {"東邦", "toho"}, {"関西", "kansai"}, {"九州", "kyushu"}, {"北陸", "hokuriku"},
	{"信越", "shinetsu"}, {"明星", "myojo"}, {"太陽", "taiyo"}, {"星野", "hoshino"}, {"白山", "hakusan"},
	{"若葉", "wakaba"}, {"朝日", "asahi-k"}, {"日進", "nisshin"}, {"栄光", "eiko"}, {"松風", "shofu"},
	{"丸山", "maruyama"}, {"高砂", "takasago"}, {"武蔵", "musashi"}, {"相模", "sagami"}, {"千代田", "chiyoda"},
	{"湘南", "shonan"}, {"緑川", "midorikawa"}, {"金剛", "kongo"}, {"飛鳥", "asuka"}, {"伊勢", "ise"},
}

var rootsEN = []string{
	"Acme", "Globex", "Northwind", "Blue Harbor", "Summit", "Pioneer", "Redwood", "Silverline", "Keystone",
	"Horizon", "Evergreen", "Ironclad", "Bright Path", "Cedar", "Atlas", "Beacon", "Crescent", "Falcon",
	"Granite", "Juniper", "Lakeside", "Meridian", "Nimbus", "Orion", "Pinnacle", "Quantum", "Riverbend",
	"Sterling", "Trident", "Vertex", "Westfield", "Zenith", "Harborview", "Copperleaf", "Stonebridge",
	"Brightwater", "Oakridge", "Fairmont", "Northstar", "Clearview",
}

var familyJA = [][2]string{
	{"佐藤", "sato"}, {"鈴木", "suzuki"}, {"高橋", "takahashi"}, {"田中", "tanaka"}, {"伊藤", "ito"},
	{"渡辺", "watanabe"}, {"山本", "yamamoto"}, {"中村", "nakamura"}, {"小林", "kobayashi"}, {"加藤", "kato"},
	{"吉田", "yoshida"}, {"山口", "yamaguchi"}, {"松本", "matsumoto"}, {"井上", "inoue"}, {"木村", "kimura"},
}

var givenJA = [][2]string{
	{"健太", "kenta"}, {"翔", "sho"}, {"美咲", "misaki"}, {"陽子", "yoko"}, {"大輔", "daisuke"},
	{"直樹", "naoki"}, {"由美", "yumi"}, {"拓也", "takuya"}, {"恵", "megumi"}, {"誠", "makoto"},
	{"彩", "aya"}, {"浩二", "koji"}, {"真由美", "mayumi"}, {"隆", "takashi"}, {"さくら", "sakura"},
}

var firstEN = []string{"James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Sarah",
	"Thomas", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Andrew", "Emma", "Joshua", "Olivia", "Ryan"}

var lastEN = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
	"Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Young"}

var titlesJA = []string{"情報システム部 部長", "経営企画部 課長", "DX推進室 室長", "営業企画部 マネージャー",
	"代表取締役", "管理本部 本部長", "データ分析チーム リーダー", "購買部 主任"}

var titlesEN = []string{"VP of Operations", "IT Director", "Head of Data", "CFO", "Procurement Manager",
	"Analytics Lead", "COO", "Sales Operations Manager"}

var citiesJA = []string{"東京", "大阪", "名古屋", "福岡", "札幌", "横浜", "京都", "仙台"}

var placesEN = [][2]string{
	{"United States", "San Francisco"}, {"United States", "Chicago"}, {"United States", "Austin"},
	{"United States", "Boston"}, {"United States", "Seattle"}, {"United States", "New York"},
	{"United Kingdom", "London"}, {"United Kingdom", "Manchester"}, {"Australia", "Sydney"}, {"Singapore", "Singapore"},
}
