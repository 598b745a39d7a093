package devices

// Handling says what the gateway does with a kind of personal data.
type Handling string

// The ways personal data is handled (docs/PRIVACY.md, "Data map").
const (
	// Kept: stored on the gateway and sent where the data map says.
	Kept Handling = "kept"
	// Hashed: replaced on arrival by a keyed hash; never stored or sent.
	Hashed Handling = "hashed"
	// Refused: removed on arrival (the event is kept without it); never
	// stored or sent.
	Refused Handling = "refused"
	// NotRead: the gateway never takes it from the device at all.
	NotRead Handling = "not read"
)

// PersonalField is one kind of personal data the gateway handles.
type PersonalField struct {
	Name     string   // the data map's name for it (docs/PRIVACY.md)
	Keys     []string // the keys it appears under: event data, command arguments, files
	Handling Handling
}

// PersonalFields is the gateway's list of personal data: every field the
// data map (docs/PRIVACY.md) describes, and nothing it does not. A test
// holds the document to this list, and this list to the code: the keys of
// Refused fields are refused by CheckData, the keys of Hashed card fields
// never survive a punch, and the person directory's, invite cache's and
// held records' members are all declared here or known not to be personal.
var PersonalFields = []PersonalField{
	{Name: "person", Keys: []string{"person", "user", "pin"}, Handling: Kept},
	{Name: "card_hash", Keys: []string{"card_hash"}, Handling: Kept},
	{Name: "card_number", Keys: []string{"card", "card_no", "cardno", "card_number"}, Handling: Hashed},
	{Name: "display_name", Keys: []string{"name"}, Handling: Kept},
	{Name: "lang", Keys: []string{"lang"}, Handling: Kept},
	{Name: "dingtalk_userid", Keys: []string{"dingtalk"}, Handling: Kept},
	{Name: "wecom_userid", Keys: []string{"wecom"}, Handling: Kept},
	{Name: "feishu_user_id", Keys: []string{"feishu"}, Handling: Kept},
	{Name: "employee_number", Keys: []string{"employee"}, Handling: Kept},
	{Name: "visitor_name", Keys: []string{"name"}, Handling: Kept},
	{Name: "visitor_company", Keys: []string{"company"}, Handling: Kept},
	{Name: "host", Keys: []string{"host"}, Handling: Kept},
	{Name: "invite_token", Keys: []string{"token"}, Handling: Hashed},
	{Name: "token_hash", Keys: []string{"token_hash"}, Handling: Kept},
	{Name: "keypad_pin", Handling: NotRead},
	{Name: "password", Handling: NotRead},
	{Name: "biometric_template", Keys: []string{"template", "templates", "fingerprint_raw", "biometric"}, Handling: Refused},
	{Name: "photo", Keys: []string{"photo", "photos", "image", "images", "picture", "pictures"}, Handling: Refused},
}
