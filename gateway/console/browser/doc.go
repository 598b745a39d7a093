// Package browser holds the web console's tests in a real browser.
// Debian's chromium, driven headless through the DevTools protocol
// (chromedp), uses the console of a real gateway: emulated terminals on
// PTYs, a real mosquitto, the journal on disk. One browser serves every
// test of the binary; each test gets its own browser context (cookies
// apart) and tab. Screenshots of each page go to $OFFICEGATE_ARTIFACTS if
// set, else to the test's temporary directory. Without chromium the tests
// skip, and fail under CI=true.
package browser
