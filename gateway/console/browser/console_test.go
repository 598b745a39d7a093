package browser_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleInBrowser walks the console as facilities staff do, in
// chromium, against a running gateway: log in; approve a pending terminal
// and watch it come online without reloading; open an enrollment window
// and watch its countdown; pulse a door and read the result; start a
// firmware rollout by uploading the image and its signature and watch it
// reach confirmed; watch a visitor check in live on the reception page and
// in the live events; each page on a phone-sized screen too.
func TestConsoleInBrowser(t *testing.T) {
	needBrowser(t)
	f := startFloor(t)
	ctx := tab(t)

	// Log in (the page follows the browser's language: English here).
	do(t, ctx, chromedp.Navigate(f.url+"/"))
	waitJS(t, ctx, "the login page", `!!document.querySelector("#user")`)
	shot(t, ctx, "00-login")
	do(t, ctx, chromedp.SendKeys("#user", "ada"), chromedp.SendKeys("#password", password), chromedp.Click("#login"))
	waitJS(t, ctx, "the overview", `!!document.querySelector("#online")`)
	if u := text(t, ctx, `document.querySelector(".user").textContent`); !strings.Contains(u, "ada") {
		t.Fatalf("logged in as %q", u)
	}
	shot(t, ctx, "01-overview")

	// A terminal is plugged in: pending on the enrollment page, approved
	// there, then online on the devices page without a reload.
	f.plugPending("t-new", "EMU-NEW")
	do(t, ctx, chromedp.Navigate(f.url+"/enrollment"))
	waitJS(t, ctx, "the new unit pending (live)", `!!document.querySelector('tr[data-hw="EMU-NEW"]')`)
	shot(t, ctx, "02-enrollment-pending")
	do(t, ctx, chromedp.SendKeys(`tr[data-hw="EMU-NEW"] input[name=id]`, "term-new"), chromedp.Click(`tr[data-hw="EMU-NEW"] button.approve`))
	waitJS(t, ctx, "the approval's message", `(document.querySelector("#flash")||{}).textContent === "EMU-NEW approved as term-new."`)
	do(t, ctx, chromedp.Navigate(f.url+"/devices?q=term-new"))
	waitJS(t, ctx, "the devices table", `!!document.querySelector('tr[data-device="term-new"]')`)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	waitJS(t, ctx, "term-new online", `(document.querySelector('tr[data-device="term-new"] .state')||{}).textContent === "online"`)
	if text(t, ctx, `String(window.notReloaded)`) != "true" {
		t.Fatal("the page was reloaded to show the device online")
	}
	shot(t, ctx, "03-devices-online")

	// An enrollment window, and its countdown ticking in the page.
	do(t, ctx, chromedp.Navigate(f.url+"/enrollment"))
	waitJS(t, ctx, "the window form", `!!document.querySelector("#open-window")`)
	do(t, ctx, chromedp.SetValue(`#window-form input[name=for]`, "2m"), chromedp.Click("#open-window"))
	waitJS(t, ctx, "the countdown", `/^[12]:[0-5]\d$/.test((document.querySelector(".countdown")||{}).textContent||"")`)
	first := text(t, ctx, `document.querySelector(".countdown").textContent`)
	waitJS(t, ctx, "the countdown to move", `document.querySelector(".countdown").textContent !== "`+first+`"`)
	shot(t, ctx, "04-enrollment-window")

	// Pulse t-door's door: the device's answer on the page.
	do(t, ctx, chromedp.Navigate(f.url+"/devices/t-door"))
	waitJS(t, ctx, "t-door online", `(document.querySelector("#status")||{}).textContent.startsWith("online")`)
	do(t, ctx, chromedp.Click("#pulse"))
	waitJS(t, ctx, "the pulse's result", `(document.querySelector("#flash")||{}).textContent === "door.pulse on t-door: ok"`)
	if p := f.door.Emu.DoorPulses(); len(p) != 1 || p[0] != 3*time.Second {
		t.Fatalf("the door relay pulsed %v, want once for 3 s", p)
	}
	shot(t, ctx, "05-door-pulsed")

	// A rollout: the image and its signature uploaded from the browser,
	// progress followed to confirmed.
	do(t, ctx, chromedp.Navigate(f.url+"/firmware"))
	waitJS(t, ctx, "the rollout form", `!!document.querySelector("#start-rollout")`)
	do(t, ctx, chromedp.SetUploadFiles("#image", []string{f.image}), chromedp.SetUploadFiles("#signature", []string{f.sig}),
		chromedp.SendKeys("#version", "2.0.0"), chromedp.Click(`input[name=device][value="t-door"]`), chromedp.Click("#start-rollout"))
	waitJS(t, ctx, "the rollout started", `((document.querySelector("#flash")||{}).textContent||"").startsWith("Rollout ")`)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	waitJS(t, ctx, "t-door confirmed", `(document.querySelector('section.rollout tr[data-device="t-door"] .phase')||{}).textContent === "confirmed"`)
	if text(t, ctx, `String(window.notReloaded)`) != "true" {
		t.Fatal("the page was reloaded to follow the rollout")
	}
	if v, _ := f.door.Emu.Firmware(); v != "2.0.0" {
		t.Fatalf("t-door runs %s after the rollout", v)
	}
	shot(t, ctx, "06-rollout-confirmed")

	// A visitor checks in at the kiosk: the reception page and the live
	// events show it as it happens.
	do(t, ctx, chromedp.Navigate(f.url+"/reception"))
	waitJS(t, ctx, "the reception page", `!!document.querySelector("#visitors")`)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	f.kiosk.emit(t, "visitor.checked_in", map[string]any{"invite_id": "inv-wang", "token_hash": strings.Repeat("ab", 32),
		"name": "王芳", "company": "华为", "host": "Li Wei", "method": "qr"})
	waitJS(t, ctx, "王芳 on the reception page", `!!document.querySelector('tr[data-invite="inv-wang"]') && document.querySelector("#visitors").textContent.includes("王芳")`)
	if text(t, ctx, `String(window.notReloaded)`) != "true" {
		t.Fatal("the page was reloaded to show the visitor")
	}
	do(t, ctx, chromedp.Click(`tr[data-invite="inv-wang"] button.preview`))
	shot(t, ctx, "07-reception-badge")
	do(t, ctx, chromedp.Navigate(f.url+"/events?type=visitor."))
	waitJS(t, ctx, "the live stream open", `document.querySelector("#live-state").getAttribute("data-open") === "1"`)
	f.kiosk.emit(t, "visitor.checked_out", map[string]any{"invite_id": "inv-wang", "token_hash": strings.Repeat("ab", 32), "name": "王芳", "method": "qr"})
	waitJS(t, ctx, "the check-out streamed in", `[...document.querySelectorAll("#live tbody tr")].some(r => r.textContent.includes("visitor.checked_out"))`)
	shot(t, ctx, "08-live-events")

	// The person directory and the sinks pages (an admin's view).
	do(t, ctx, chromedp.Navigate(f.url+"/people"))
	waitJS(t, ctx, "the people page", `!!document.querySelector("#people") && !!document.querySelector("#people-import")`)
	shot(t, ctx, "09-people")
	do(t, ctx, chromedp.Navigate(f.url+"/sinks"))
	waitJS(t, ctx, "the sinks page", `!!document.querySelector("#sinks")`)
	shot(t, ctx, "10-sinks")

	// Every page on a 375-px phone: nothing wider than the screen but the
	// tables' own scroll boxes, the menu behind its button.
	do(t, ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2)))
	for _, p := range []string{"/", "/devices", "/devices/t-door", "/enrollment", "/firmware", "/reception", "/rooms", "/events", "/people", "/sinks"} {
		do(t, ctx, chromedp.Navigate(f.url+p))
		waitJS(t, ctx, p+" loaded", `document.readyState === "complete"`)
		if w := text(t, ctx, `String(document.documentElement.scrollWidth)`); w != "375" {
			t.Errorf("%s on a phone is %s px wide", p, w)
		}
		if vis := text(t, ctx, `getComputedStyle(document.querySelector("nav")).display`); vis != "none" {
			t.Errorf("%s on a phone: the menu shows (%s)", p, vis)
		}
		shot(t, ctx, "phone"+strings.ReplaceAll(p, "/", "-"))
	}
}

// TestRefusedInBrowser: a viewer sees the device but has no door button,
// and a door pulse posted from the viewer's page anyway is refused; a form
// forged on another origin is refused. In Chinese, from the switch.
func TestRefusedInBrowser(t *testing.T) {
	needBrowser(t)
	f := startFloor(t)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.url+"/login"))
	waitJS(t, ctx, "the login page", `!!document.querySelector("#user")`)
	do(t, ctx, chromedp.Click("#lang"))
	waitJS(t, ctx, "the page in Chinese", `document.querySelector("#login").textContent === "登录"`)
	do(t, ctx, chromedp.SendKeys("#user", "vic"), chromedp.SendKeys("#password", password), chromedp.Click("#login"))
	waitJS(t, ctx, "the overview", `!!document.querySelector("#online")`)
	do(t, ctx, chromedp.Navigate(f.url+"/devices/t-door"))
	waitJS(t, ctx, "t-door's page", `!!document.querySelector("#detail")`)
	if n := text(t, ctx, `String(document.querySelectorAll("#pulse").length)`); n != "0" {
		t.Fatal("a viewer is offered the door button")
	}
	// The viewer crafts the post in the page, with the session's own
	// token: the role is refused.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form"); f.method = "post"; f.action = "/devices/t-door/command";
		for (const [k, v] of [["csrf", document.querySelector("input[name=csrf]").value], ["name", "door.pulse"]]) {
			const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit();
	})()`))
	waitJS(t, ctx, "the refusal", `((document.querySelector("#error")||{}).textContent||"").includes("无权执行此操作")`)
	shot(t, ctx, "viewer-refused")

	// A page elsewhere posts to the console: no token, another origin.
	do(t, ctx, chromedp.Navigate("data:text/html,<form method=post action='"+f.url+"/devices/t-door/command'><input name=name value=door.pulse></form>"))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.forms[0].submit()`))
	waitJS(t, ctx, "the forged post refused", `location.href.endsWith("/command") && document.body.innerText.length > 0`)
	// SameSite=Strict keeps the session (and language) cookies off a
	// cross-site post: the console sees no session, in English.
	if body := text(t, ctx, `document.body.innerText`); !strings.Contains(body, "Your session has ended") && !strings.Contains(body, "Refused") {
		t.Fatalf("the forged post was not refused:\n%s", body)
	}
	if p := f.door.Emu.DoorPulses(); len(p) != 0 {
		t.Fatalf("the door relay pulsed %v", p)
	}
	shot(t, ctx, "forged-refused")
}
