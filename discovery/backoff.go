package discovery

import (
	"math/rand/v2"
	"time"
)

// backoff yields the delays between registration attempts: doubling from
// initial up to max, each with "equal jitter" (a random point in the upper
// half), so that many instances restarted together do not hit a recovering
// Eureka in lock step, while none waits less than half the nominal delay.
type backoff struct {
	initial time.Duration
	max     time.Duration
	// random returns a value in [0, 1); tests replace it.
	random  func() float64
	attempt int
}

func newBackoff(initial, max time.Duration) *backoff {
	if initial > max {
		initial = max
	}
	return &backoff{initial: initial, max: max, random: rand.Float64}
}

// next returns the delay before the next attempt and advances the step.
func (b *backoff) next() time.Duration {
	d := b.nominal()
	b.attempt++
	half := d / 2
	return half + time.Duration(b.random()*float64(d-half))
}

// nominal is the un-jittered delay of the current step, capped at max.
func (b *backoff) nominal() time.Duration {
	d := b.initial
	for range b.attempt {
		if d >= b.max/2 {
			return b.max
		}
		d *= 2
	}
	return min(d, b.max)
}

func (b *backoff) reset() { b.attempt = 0 }
