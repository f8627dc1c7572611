//! Goal: the windows do the arithmetic of RFC 9113 §6.9 exactly: sending stops at zero and
//! stays stopped while a SETTINGS change leaves the window negative; growing past 2^31-1 and
//! receiving past the granted window are FLOW_CONTROL_ERRORs; room goes back only for what
//! the app took, in batches. Method: literal sequences, edges on both sides of each bound.

use crate::h2::flow::{RecvWindow, SendWindow, WindowOverflow};
use crate::h2::frame::MAX_WINDOW;

#[test]
fn a_send_window_empties_goes_negative_and_refills() {
    // Twisted's test_flowControlExact: a 5-byte window, then +1 at a time.
    let mut window = SendWindow::new(5);
    window.spend(5);
    assert_eq!(window.available(), 0);
    window.grow(1).unwrap();
    assert_eq!(window.available(), 1);
    window.spend(1);
    // The peer lowers SETTINGS_INITIAL_WINDOW_SIZE by 10: the window goes negative and
    // stays shut until updates bring it above zero (§6.9.2).
    window.shift(-10).unwrap();
    assert_eq!((window.value(), window.available()), (-10, 0));
    window.grow(10).unwrap();
    assert_eq!(window.available(), 0);
    window.grow(3).unwrap();
    assert_eq!(window.available(), 3);
}

#[test]
fn a_send_window_cannot_pass_2_pow_31_minus_1() {
    let mut window = SendWindow::new(MAX_WINDOW - 1);
    window.grow(1).unwrap();
    assert_eq!(window.available(), MAX_WINDOW);
    assert_eq!(window.grow(1), Err(WindowOverflow));
    assert_eq!(
        window.available(),
        MAX_WINDOW,
        "a refused update changes nothing"
    );
    assert_eq!(window.shift(1), Err(WindowOverflow));
    // A negative window may take the full increment.
    let mut low = SendWindow::new(0);
    low.shift(-1).unwrap();
    low.grow(MAX_WINDOW).unwrap();
    assert_eq!(low.available(), MAX_WINDOW - 1);
}

#[test]
#[should_panic(expected = "sent past the flow-control window")]
fn sending_past_the_window_is_a_bug() {
    SendWindow::new(4).spend(5);
}

#[test]
fn receiving_past_the_granted_window_is_refused() {
    let mut window = RecvWindow::new(65_535);
    window.receive(65_535).unwrap();
    assert_eq!(window.receive(1), Err(WindowOverflow));
    assert_eq!(window.open(), 0);
}

#[test]
fn room_goes_back_for_what_the_app_took_in_batches() {
    let mut window = RecvWindow::new(100);
    window.receive(80).unwrap();
    window.release(49);
    assert_eq!(
        window.update(),
        None,
        "under half the window: no update yet"
    );
    window.release(1);
    assert_eq!(window.update(), Some(50));
    assert_eq!(window.open(), 70);
    assert_eq!(window.update(), None, "nothing released since");
    // A shut window gives back whatever was taken, however little.
    window.receive(70).unwrap();
    window.release(3);
    assert_eq!(window.update(), Some(3));
    assert_eq!(window.open(), 3);
}
