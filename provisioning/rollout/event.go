package rollout

import "time"

// Event is one step of a rollout, for the gateway to publish on MQTT and
// the CLI to draw. A device's phase change has Device set; the rollout's
// own start, halt and end have it empty, and the last one carries Summary.
type Event struct {
	Rollout string
	Device  string
	Phase   Phase // the device's, when Device is set
	State   State // the rollout's
	// Sent and Total are the image bytes the device holds and the image
	// size, while Phase is Transferring.
	Sent, Total int64
	Reason      string // why deferred, rolled back, failed or halted
	At          time.Time
	Summary     *Summary // on the final event (State Done or Halted)
}
