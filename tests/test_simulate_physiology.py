"""Physiology of the simulated signals: what a clinician would check, measured.

Beat morphology (fixed QRS and PR, QT from the preceding RR by Fridericia), PPG
upstroke and pulse height, SCR shape and random onsets, AF f-waves, HRV with LF and HF,
respiratory modulation, premature beats and their pauses, apnea types and the heart's
response, the heart-rate step's time constant, flutter, AV block, hypovolemia, and
subjects recognisable across classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.signal import welch

from physio_bench.io import read_suite
from physio_bench.preflight import load_config
from physio_bench.simulate import rhythm, simulate_suite, waveforms
from physio_bench.simulate.ground_truth import window_rate
from physio_bench.simulate.physiology import draw_subject
from physio_bench.simulate.scenarios import apnea_response

FS = 125


def _suite(tmp: Path, classes: list[str], subjects: int) -> tuple[Any, pd.DataFrame]:
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({"simulate": {"scenarios": {
        "subjects_per_scenario": subjects, "classes": classes}}}))
    simulate_suite(load_config([path]), "scenarios", tmp / "s")
    return read_suite(tmp / "s"), pd.read_parquet(tmp / "s" / "events.parquet")


@pytest.fixture(scope="module")
def rhythms(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pd.DataFrame]:
    return _suite(tmp_path_factory.mktemp("rhythms"), [
        "normal_sinus", "premature_ventricular", "premature_atrial", "atrial_flutter",
        "av_block", "av_block_mobitz2", "av_block_complete", "apnea", "central_apnea",
        "obstructive_apnea", "heart_rate_step", "hypovolemia", "hypovolemia_ventilated",
        "sinus_tachycardia", "stress_arousal", "motion_artifact"], 6)


def _window_events(events: pd.DataFrame, window: int, name: str) -> pd.DataFrame:
    return events[(events["window_id"] == window) & (events["event"] == name)]


def _render(r_s: np.ndarray, fs: int, with_p: bool = True) -> tuple:
    subject = draw_subject(3)
    morph = subject.ecg
    p_onsets = r_s - morph.qrs_s / 2 - morph.pr_s if with_p else np.zeros(0)
    beats = rhythm.Beats(r_s=r_s, classes=np.full(len(r_s), "N"), p_onsets_s=p_onsets,
                         p_kind=np.full(len(p_onsets), "sinus"))
    n = int((r_s[-1] + 2) * fs)
    ecg = waveforms.render_ecg(0.0, fs, n, beats, morph, np.zeros(n), 1.0,
                               np.random.default_rng(0))
    return ecg, subject


def test_qrs_and_pr_are_fixed_and_qt_follows_the_preceding_rr() -> None:
    """Beats after RR = 0.7 s and 1.3 s: same QRS width and P-to-R time; the T peak moves
    by QTc (1.3^(1/3) - 0.7^(1/3)) (Fridericia), not in proportion to RR."""
    fs = 500
    r = np.array([1.0, 2.3, 3.0, 4.3, 5.0, 6.3])  # preceding RR alternates 1.3 / 0.7 s
    ecg, subject = _render(r, fs)
    p_only = ecg - _render(r, fs, with_p=False)[0]  # the P waves alone
    morph = subject.ecg
    t = np.arange(len(ecg)) / fs

    def half_width(rr: float) -> float:
        i = int(rr * fs)
        half = ecg[i] / 2
        left = i - np.argmax(ecg[i::-1] < half)
        right = i + np.argmax(ecg[i:] < half)
        return (right - left) / fs

    def t_peak(rr: float) -> float:
        lo, hi = int((rr + 0.15) * fs), int((rr + 0.5) * fs)
        return t[lo + np.argmax(ecg[lo:hi] * np.sign(morph.t_mv))] - rr

    def p_peak(rr: float) -> float:
        lo, hi = int((rr - 0.5) * fs), int(rr * fs)
        return rr - t[lo + np.argmax(p_only[lo:hi])]

    after_long, after_short = [2.3, 4.3, 6.3], [3.0, 5.0]
    widths = [half_width(x) for x in after_long + after_short]
    assert np.ptp(widths) <= 2 / fs
    prs = [p_peak(x) for x in after_long + after_short]
    assert np.ptp(prs) <= 2 / fs
    shift = np.mean([t_peak(x) for x in after_long]) - np.mean([t_peak(x) for x in after_short])
    expected = morph.qtc_s * (np.cbrt(1.3) - np.cbrt(0.7))
    assert shift == pytest.approx(expected, abs=3 / fs)
    assert shift < 0.5 * 0.6 * 0.4  # far less than stretching the beat with RR would give


def test_ppg_upstroke_is_constant_and_height_follows_the_preceding_rr() -> None:
    fs = 500
    r = np.array([1.0, 2.0, 2.3, 3.3, 4.3, 4.9, 5.9])  # RR: 1.0, 0.3, 1.0, 1.0, 0.6, 1.0
    subject = draw_subject(5)
    beats = rhythm.Beats(r_s=r, classes=np.full(len(r), "N"), p_onsets_s=r - 0.2,
                         p_kind=np.full(len(r), "sinus"))
    n = int(8 * fs)
    ppg, feet, peaks = waveforms.render_ppg(0.0, fs, n, beats, subject.pulse, np.zeros(n), 1.0)
    t = np.arange(n) / fs
    rise = []
    for foot in feet[1:]:
        i = int(foot * fs)
        j = i + np.argmax(ppg[i:i + int(0.3 * fs)])
        rise.append(t[j] - foot)
    assert np.ptp(rise) <= 0.02  # upstroke time does not scale with the RR interval
    height = ppg[(peaks * fs).astype(int)] - ppg[(feet * fs).astype(int)]
    assert height[2] < 0.35 * height[1]  # 0.3-s RR after 1-s RRs: pulse deficit
    assert height[2] < height[5] < height[3]  # 0.3 s < 0.6 s < 1.0 s


def test_scr_shape_and_random_onsets(tmp_path: Path) -> None:
    """Bi-exponential SCRs: 1-3 s onset-to-peak, 2-10 s half-recovery (neurokit2's were
    0.2 s and 0.5 s), at random onsets (not evenly spaced)."""
    t = np.arange(0, 40, 1 / FS)
    for seed in range(40):
        s = draw_subject(seed)
        scr = waveforms.render_eda(t, 0.0, 0.0, np.array([1.0]), np.array([1.0]),
                                   s.scr_rise_tau_s, s.scr_decay_tau_s)
        peak = int(np.argmax(scr))
        half = peak + int(np.argmax(scr[peak:] < 0.5))
        assert 0.9 <= t[peak] - 1.0 <= 3.0
        assert 2.0 <= t[half] - t[peak] <= 10.0
        assert scr.max() == pytest.approx(1.0, abs=1e-3)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"simulate": {"signal_kinds": ["eda"], "factors": {
        "windows_per_kind": 12, "ranges": {"eda": {"scr_number_count": [4, 4]}}}}}))
    simulate_suite(load_config([path]), "factors", tmp_path / "eda")
    events = pd.read_parquet(tmp_path / "eda" / "events.parquet")
    first = events.groupby("window_id")["start_s"].min()
    gaps = events.groupby("window_id")["start_s"].apply(lambda x: np.ptp(np.diff(np.sort(x))))
    assert first.std() > 1.0 and (gaps > 0.5).mean() > 0.8


def test_af_f_waves_are_narrow_band_noise_not_a_line() -> None:
    t = np.arange(0, 64, 1 / FS)
    for seed in range(5):
        f = waveforms.fibrillatory_waves(t, 0.1, np.random.default_rng(seed))
        freqs, power = welch(f, fs=FS, nperseg=4096)
        peak = freqs[np.argmax(power)]
        assert 4.0 <= peak <= 9.0
        band = (freqs >= 3) & (freqs <= 10)
        assert power[band].sum() / power.sum() > 0.9
        near = np.abs(freqs - peak) <= 0.1
        assert power[near].sum() / power[band].sum() < 0.6  # a sinusoid would put ~all here
        envelope = np.abs(f[: 64 * FS])
        assert np.ptp([envelope[i:i + 4 * FS].max() for i in range(0, 60 * FS, 4 * FS)]) > 0.01


def test_heart_rate_variability_has_lf_and_hf_components() -> None:
    """300 s of sinus rhythm breathing at 15 /min: the beat-to-beat rate has power near the
    Mayer frequency (0.04-0.15 Hz) and at the breathing frequency (RSA)."""
    subject = draw_subject(11)
    t = np.arange(0, 300, 1 / FS)
    breaths = rhythm.breath_train(np.random.default_rng(1), 0, 300, lambda _t: 15.0, 0.0,
                                  0.4, 0.0)
    hr = rhythm.heart_rate(np.full(len(t), 70.0), t, breaths.phase(t), 3.0, 3.0,
                           subject.mayer_hz, np.random.default_rng(2))
    beats = rhythm.integral_crossings(t, hr, 0.3)
    grid = np.arange(10, 290, 0.25)
    series = np.interp(grid, beats[1:], 60 / np.diff(beats))
    freqs, power = welch(series - series.mean(), fs=4, nperseg=512)
    lf = power[(freqs >= 0.04) & (freqs < 0.15)].sum()
    hf = power[(freqs >= 0.2) & (freqs <= 0.3)].sum()
    total = power[freqs >= 0.02].sum()
    assert lf / total > 0.25 and hf / total > 0.25
    # RSA: the rate rises through inspiration (phase 0..pi)
    phase = breaths.phase(beats)
    rate = np.concatenate([[np.nan], 60 / np.diff(beats)])
    assert np.nanmean(rate[(phase > 2.0) & (phase < 3.5)]) > np.nanmean(rate[phase < 0.5])


def test_respiration_modulates_ecg_and_ppg(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """R-wave amplitude follows the breath's volume (RSP channel); the PPG baseline (the
    peripheral venous volume) falls as spontaneous inspiration draws blood to the chest."""
    s, events = rhythms
    corr_r, corr_ppg = [], []
    for i in s.labels.index[s.labels["scenario"] == "normal_sinus"]:
        r = _window_events(events, i, "beat")["start_s"].to_numpy()
        r = r[(r >= 0) & (r < 32)]
        idx = (r * FS).astype(int)
        rsp = s.signals[i, 2][idx]
        corr_r.append(np.corrcoef(s.signals[i, 0][idx], rsp)[0, 1])
        feet = _window_events(events, i, "pulse")["start_s"].to_numpy()
        feet = feet[(feet >= 0) & (feet < 32)]
        corr_ppg.append(np.corrcoef(s.signals[i, 1][(feet * FS).astype(int)],
                                    s.signals[i, 2][(feet * FS).astype(int)])[0, 1])
    assert np.median(corr_r) > 0.5 and np.median(corr_ppg) < -0.5


def test_premature_beats_and_their_pauses(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """PVC (V): no P wave, compensatory pause (RR before + after = 2 sinus cycles);
    PAC (S): own P' wave, non-compensatory pause (shorter than 2 cycles)."""
    s, events = rhythms
    seen = {"V": 0, "S": 0}
    for scenario, cls in (("premature_ventricular", "V"), ("premature_atrial", "S")):
        for i in s.labels.index[s.labels["scenario"] == scenario]:
            beats = _window_events(events, i, "beat")
            times, classes = beats["start_s"].to_numpy(), beats["label"].to_numpy()
            p = _window_events(events, i, "p_wave")
            normal_rr = np.median(np.diff(times))
            for k in np.flatnonzero(classes == cls):
                if k == 0 or k == len(times) - 1:
                    continue
                seen[cls] += 1
                pair = times[k + 1] - times[k - 1]
                before = p[(p["start_s"] > times[k] - 0.35) & (p["start_s"] < times[k])]
                assert times[k] - times[k - 1] < 0.85 * normal_rr
                if cls == "V":
                    assert pair == pytest.approx(2 * normal_rr, rel=0.12)
                    assert len(before) == 0
                else:
                    assert pair < 1.95 * normal_rr
                    assert list(before["label"]) == ["ectopic"]
    assert seen["V"] >= 6 and seen["S"] >= 6


def test_apnea_types_and_heart_response(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """AASM types: central apneas are flat; obstructive ones keep efforts from the start,
    mixed ones only in their second part; the efforts pull the thoracic trace below the
    end-expiratory level (paradoxical) and grow (crescendo). The heart slows through the
    pause and speeds up after it over several beats, not in one beat (medians over
    windows)."""
    s, events = rhythms
    drift, surge, peak_after = [], [], []
    kinds = set()
    for i in s.labels.index[s.labels["scenario"].str.endswith("apnea")]:
        apnea = _window_events(events, i, "apnea").iloc[0]
        kind, start, stop = apnea["label"], apnea["start_s"], apnea["stop_s"]
        kinds.add(kind)
        assert s.labels.loc[i, "apnea_type"] == kind
        scenario = s.labels.loc[i, "scenario"]
        assert scenario == "apnea" or scenario == f"{kind}_apnea"
        efforts = _window_events(events, i, "effort")
        efforts = efforts[(efforts["start_s"] >= start) & (efforts["start_s"] < stop)]
        assert set(efforts["label"]) <= {kind}
        assert stop - start >= 10
        rsp = np.convolve(s.signals[i, 2], np.ones(FS // 5) / (FS // 5), mode="same")
        a, b = int(start * FS), int(stop * FS)
        if kind == "central":  # flat but for sensor noise
            assert len(efforts) == 0
            assert np.ptp(rsp[a + FS:b - FS]) < 0.1 * np.ptp(rsp)
        else:
            assert len(efforts) >= (2 if kind == "obstructive" else 1)
            first = efforts["start_s"].iloc[0] - start
            assert first < 0.5 if kind == "obstructive" else first >= 0.3 * (stop - start)
            level = rsp[a]
            depth = [level - rsp[int(e * FS):int(min(e + 3, stop) * FS)].min()
                     for e in efforts["start_s"]]
            assert min(depth) > 0 and depth[-1] >= depth[0]
        beats = _window_events(events, i, "beat")["start_s"].to_numpy()
        rate = 60 / np.diff(beats)
        mid = (beats[1:] + beats[:-1]) / 2
        before = rate[(mid > start) & (mid < start + 2)].mean()
        end = rate[(mid > stop - 2) & (mid < stop)].mean()
        drift.append(end - before)
        late = (mid > stop) & (mid < stop + 12)
        surge.append(rate[late].max() - end)
        peak_after.append(mid[late][np.argmax(rate[late])] - stop)
    assert kinds == {"central", "obstructive", "mixed"}
    assert np.median(drift) < 0 and np.median(surge) > 5
    assert np.median(peak_after) > 2.5  # the surge builds over beats
    # the apnea's own heart-rate response: no step of drift + surge (12-25 bpm) in one
    # beat (0.8 s) when breathing resumes; its peak 4-8 s after the pause; continuous
    t = np.arange(0, 60, 1 / FS)
    response = apnea_response(t, 20.0, 32.0, 10.0, 15.0)
    one_beat = int(0.8 * FS)
    assert np.abs(response[one_beat:] - response[:-one_beat]).max() < 6.0
    assert 4.0 <= t[np.argmax(response)] - 32.0 <= 8.0
    assert response[int(32 * FS) - 1] == pytest.approx(-10.0, abs=0.01)


def test_heart_rate_step_has_a_time_constant(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """First-order step: the label (half-change time) lies tau ln 2 after the requested
    step, tau being 2-5 s."""
    s, _ = rhythms
    rows = s.labels[s.labels["scenario"] == "heart_rate_step"]
    delay = rows["change_time_s"] - rows["requested_change_time_s"]
    assert delay.between(2 * np.log(2) - 1e-9, 5 * np.log(2) + 1e-9).all()


def test_flutter_and_av_block(rhythms: tuple[Any, pd.DataFrame]) -> None:
    s, events = rhythms
    for i in s.labels.index[s.labels["scenario"] == "atrial_flutter"]:
        f = _window_events(events, i, "f_wave")["start_s"].to_numpy()
        cycle = np.median(np.diff(f))
        assert 60 / 320 - 1e-6 <= cycle <= 60 / 240 + 1e-6
        rr = np.diff(_window_events(events, i, "beat")["start_s"].to_numpy())
        ratios = rr / cycle
        assert np.allclose(ratios, np.round(ratios), atol=0.02)
        assert set(np.round(ratios).astype(int)) <= {2, 3, 4}
        assert len(_window_events(events, i, "p_wave")) == 0
    for i in s.labels.index[s.labels["scenario"] == "av_block"]:
        p = _window_events(events, i, "p_wave")
        r = _window_events(events, i, "beat")["start_s"].to_numpy()
        assert (p["label"] == "blocked").sum() >= 3
        conducted = p[p["label"] == "sinus"]["start_s"].to_numpy()
        pr = np.array([r[r > x][0] - x for x in conducted if (r > x).any()])
        blocked = p[p["label"] == "blocked"]["start_s"].to_numpy()
        # within a Wenckebach group PR grows; it resets after the blocked P wave
        for b in blocked:
            before = pr[(conducted[: len(pr)] < b) & (conducted[: len(pr)] > b - 4)]
            if len(before) >= 2:
                assert np.all(np.diff(before[-2:]) > 0)


def test_hypovolemia_differs_from_the_same_subjects_normal_state(
    rhythms: tuple[Any, pd.DataFrame]
) -> None:
    """Same subjects: faster heart and breathing, smaller pulse, larger respiratory pulse
    variation, lower HRV."""
    s, _ = rhythms
    labels = s.labels.set_index(["subject_id", "scenario"])
    subjects = s.labels["subject_id"].unique()
    normal = labels.xs("normal_sinus", level="scenario").loc[subjects]
    shock = labels.xs("hypovolemia", level="scenario").loc[subjects]
    assert (shock["heart_rate_bpm"] > normal["heart_rate_bpm"]).all()
    assert (shock["resp_rate_bpm"] > normal["resp_rate_bpm"]).all()
    assert (shock["pulse_amplitude_au"] < 0.9 * normal["pulse_amplitude_au"]).all()
    assert (shock["pulse_amplitude_cv"] > normal["pulse_amplitude_cv"]).mean() >= 0.8


def test_subjects_are_recognisable_across_classes(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """The mean QRS of a subject in two classes matches better than two subjects' QRS."""
    s, events = rhythms

    def mean_qrs(i: int) -> np.ndarray:
        r = _window_events(events, i, "beat")
        r = r[(r["label"] == "N") & (r["start_s"] > 1) & (r["start_s"] < 31)]["start_s"]
        idx = (r.to_numpy() * FS).astype(int)
        return np.mean([s.signals[i, 0][j - 6:j + 7] for j in idx], axis=0)

    labels = s.labels
    qrs = {(row.subject_id, row.scenario): mean_qrs(i) for i, row in labels.iterrows()
           if row.scenario in ("normal_sinus", "sinus_tachycardia")}
    subjects = sorted(labels["subject_id"].unique())
    same = [np.corrcoef(qrs[(x, "normal_sinus")], qrs[(x, "sinus_tachycardia")])[0, 1]
            for x in subjects]
    other = [np.corrcoef(qrs[(x, "normal_sinus")], qrs[(y, "sinus_tachycardia")])[0, 1]
             for x in subjects for y in subjects if x != y]
    assert np.median(same) > np.median(other)
    assert np.median(same) > 0.95


# --- the physiology review of issue 22 ----------------------------------------------------


def _pairs(s: Any, scenario: str, column: str) -> tuple[pd.Series, pd.Series]:
    """``column`` of every subject in normal sinus rhythm and in ``scenario``."""
    labels = s.labels.set_index(["subject_id", "scenario"])[column]
    subjects = sorted(s.labels["subject_id"].unique())
    return (labels.xs("normal_sinus", level="scenario").loc[subjects],
            labels.xs(scenario, level="scenario").loc[subjects])


def _stored_pulse_swing(s: Any, events: pd.DataFrame, i: int) -> float:
    """(mean height of pulses whose foot is in inspiration - in expiration) / mean, from
    the stored noisy PPG and the per-sample breath phase (independent of the labels)."""
    pulses = _window_events(events, i, "pulse")
    pulses = pulses[(pulses["start_s"] >= 0) & (pulses["stop_s"] < 31.9)]
    foot = (pulses["start_s"].to_numpy() * FS).round().astype(int)
    peak = (pulses["stop_s"].to_numpy() * FS).round().astype(int)
    height = s.signals[i, 1][peak] - s.signals[i, 1][foot]
    inspiration = s.targets["resp_phase_rad"][i][foot] < np.pi
    return float((height[inspiration].mean() - height[~inspiration].mean()) / height.mean())


def test_pulse_amplitude_falls_in_spontaneous_inspiration_and_rises_under_ventilation(
    rhythms: tuple[Any, pd.DataFrame]
) -> None:
    """Pulsus paradoxus direction: breathing spontaneously, pulses shrink in inspiration
    (more so in hypovolemia); under positive-pressure ventilation they grow (Michard
    2005). Measured on the stored PPG and in the labels."""
    s, events = rhythms
    swing = {name: [_stored_pulse_swing(s, events, i)
                    for i in s.labels.index[s.labels["scenario"] == name]]
             for name in ("normal_sinus", "hypovolemia", "hypovolemia_ventilated")}
    assert max(swing["hypovolemia"]) < 0 < min(swing["hypovolemia_ventilated"])
    assert np.median(swing["hypovolemia"]) < np.median(swing["normal_sinus"]) < 0
    normal, shock = _pairs(s, "hypovolemia", "pulse_amplitude_resp_change_frac")
    _, ventilated = _pairs(s, "hypovolemia_ventilated", "pulse_amplitude_resp_change_frac")
    assert (shock < 0).all() and (ventilated > 0).all() and (shock < normal).all()
    normal, shock = _pairs(s, "hypovolemia", "pulse_amplitude_variation_frac")
    assert (shock > normal).mean() >= 0.8


def test_pulse_width_scales_with_the_rr_interval() -> None:
    """The systolic decay and the dicrotic wave follow the ejection time (Weissler: LVET
    = 415 - 1.65 HR ms): at 120 bpm the pulse's fall from its peak to half height takes
    about 0.69 x as long as at 60 bpm, while the upstroke stays the same."""
    fs = 1000
    subject = draw_subject(8)
    fall, rise = {}, {}
    for hr in (60, 120):
        r = np.arange(1.0, 9.0, 60 / hr)
        n = 10 * fs
        single = waveforms.render_ppg(0.0, fs, n, rhythm.Beats(
            r_s=r[4:5], classes=np.array(["N"]), p_onsets_s=r[4:5] - 0.2,
            p_kind=np.array(["sinus"])), subject.pulse, np.zeros(n), 60 / hr,
            resp_amplitude_frac=0.0)[0]  # one pulse alone, with its preceding RR
        k = int(single.argmax())
        half = k + int(np.argmax(single[k:] < single[k] / 2))
        fall[hr] = (half - k) / fs
        foot = round((r[4] + subject.pulse.arrival_s) * fs)
        rise[hr] = (k - foot) / fs
    expected = (415 - 1.65 * 120) / (415 - 1.65 * 60)
    assert fall[120] / fall[60] == pytest.approx(expected, abs=0.08)
    assert abs(rise[120] - rise[60]) <= 0.01


def test_steady_tachycardia_keeps_its_pulse_size(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """Filling is relative to the recent rhythm: a steady 105-140 bpm keeps the pulse
    (it shrank to 0.62 x when the pulse width did not follow the cycle)."""
    s, _ = rhythms
    normal, fast = _pairs(s, "sinus_tachycardia", "pulse_amplitude_au")
    assert ((fast / normal) > 0.85).all()


def test_pulse_arrival_time_follows_heart_rate_and_breathing(
    rhythms: tuple[Any, pd.DataFrame]
) -> None:
    """PAT (R peak to pulse foot) shortens 0.6-1.5 ms per bpm as the heart speeds up,
    lengthens in spontaneous inspiration (more in hypovolemia) and shortens in a
    ventilator's inspiration."""
    s, _ = rhythms
    normal, fast = _pairs(s, "sinus_tachycardia", "pulse_arrival_foot_s")
    hr_normal, hr_fast = _pairs(s, "sinus_tachycardia", "heart_rate_bpm")
    slope = (fast - normal) / (hr_fast - hr_normal)
    assert slope.between(-0.0016, -0.0005).all()
    _, spontaneous = _pairs(s, "hypovolemia", "pulse_arrival_resp_change_s")
    _, ventilated = _pairs(s, "hypovolemia_ventilated", "pulse_arrival_resp_change_s")
    assert (spontaneous > 0.002).all() and (ventilated < -0.002).all()


def test_the_apnea_pause_is_left_out_of_the_breathing_rate(
    rhythms: tuple[Any, pd.DataFrame]
) -> None:
    """An apnea is a pause, not slow breathing: the breathing-rate label is the rate of the
    breaths around it (within the breath jitter of the requested rate), the rate counted
    over the pause is far lower; the pause is counted and typed."""
    s, events = rhythms
    rows = s.labels[s.labels["scenario"].str.endswith("apnea")]
    for i, row in rows.iterrows():
        onsets = _window_events(events, i, "breath")["start_s"].to_numpy()
        with_pause = window_rate(onsets, 0, 32.0)
        assert row["resp_rate_bpm"] == pytest.approx(row["requested_resp_rate_bpm"], rel=0.1)
        assert with_pause < row["resp_rate_bpm"] - 2
        assert row["pause_number_count"] == 1 and row["apnea_type"] != "none"
    others = s.labels[~s.labels["scenario"].str.endswith("apnea")]
    assert (others["pause_number_count"] == 0).all() and set(others["apnea_type"]) == {"none"}


def _pr_intervals(events: pd.DataFrame, i: int) -> tuple[np.ndarray, pd.DataFrame]:
    """P onset to next R peak of each conducted P wave, and the P-wave rows."""
    p = _window_events(events, i, "p_wave")
    r = _window_events(events, i, "beat")["start_s"].to_numpy()
    conducted = p[p["label"] == "sinus"]["start_s"].to_numpy()
    conducted = conducted[conducted < r.max()]
    return np.array([r[r > x][0] - x for x in conducted]), p


def test_mobitz_ii_drops_beats_without_pr_prolongation(
    rhythms: tuple[Any, pd.DataFrame]
) -> None:
    """Mobitz II: P waves are blocked while the PR of every conducted beat is the same
    (before and after the pause); Mobitz I lengthens PR before each block."""
    s, events = rhythms
    for i in s.labels.index[s.labels["scenario"] == "av_block_mobitz2"]:
        pr, p = _pr_intervals(events, i)
        assert (p["label"] == "blocked").sum() >= 3
        assert np.ptp(pr) < 1e-6
        row = s.labels.loc[i]
        assert row["av_block_type"] == "mobitz_ii" and abs(row["pr_prolongation_s"]) < 1e-6
    for i in s.labels.index[s.labels["scenario"] == "av_block"]:
        pr, _ = _pr_intervals(events, i)
        assert np.ptp(pr) > 0.06
        row = s.labels.loc[i]
        assert row["av_block_type"] == "mobitz_i" and row["pr_prolongation_s"] > 0.06
    assert set(s.labels.loc[s.labels["scenario"] == "normal_sinus", "av_block_type"]) == {
        "none"}


def test_complete_block_has_independent_p_and_qrs_rates(
    rhythms: tuple[Any, pd.DataFrame]
) -> None:
    """Third-degree block: every P wave blocked, the atria faster than the regular escape
    rhythm, and the P-to-R delays spread over the whole atrial cycle (no fixed PR)."""
    s, events = rhythms
    for i in s.labels.index[s.labels["scenario"] == "av_block_complete"]:
        p = _window_events(events, i, "p_wave")
        beats = _window_events(events, i, "beat")
        r = beats["start_s"].to_numpy()
        assert set(p["label"]) == {"blocked"}
        assert set(beats["label"]) in ({"N"}, {"V"})  # junctional or ventricular escape
        p_times = p["start_s"].to_numpy()
        atrial = 60 / np.median(np.diff(p_times))
        ventricular = 60 / np.median(np.diff(r))
        assert atrial > ventricular + 10
        assert np.std(np.diff(r)) / np.mean(np.diff(r)) < 0.05  # a regular escape rhythm
        inside = r[(r > p_times[0]) & (r < p_times[-1])]
        delay = np.array([x - p_times[p_times < x][-1] for x in inside])
        cycle = np.median(np.diff(p_times))
        assert np.ptp(delay) > 0.5 * cycle
        row = s.labels.loc[i]
        assert row["av_block_type"] == "complete"
        assert row["atrial_rate_bpm"] == pytest.approx(window_rate(p_times, 0, 32.0))
        assert row["av_conduction_ratio"] > 1.2


def test_motion_appears_in_every_channel_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same window with and without motion (the motion has its own random stream):
    the difference is zero before the first movement and, in every movement episode,
    clearly above each channel's noise in all five channels at once; the movements are
    listed as artefacts of every channel with the same times, each with an EMG burst."""
    import dataclasses

    from physio_bench.simulate import classes
    from physio_bench.simulate.scenarios import simulate_scenario

    spec = classes.SCENARIO_CLASSES["motion_artifact"]
    for seed in range(4):
        subject = draw_subject(40 + seed)
        moving = simulate_scenario("motion_artifact", "steady", subject, seed, FS, 4000)
        monkeypatch.setitem(classes.SCENARIO_CLASSES, "motion_artifact",
                            dataclasses.replace(spec, motion_amplitude_au=(0.0, 0.0)))
        still = simulate_scenario("motion_artifact", "steady", subject, seed, FS, 4000)
        monkeypatch.setitem(classes.SCENARIO_CLASSES, "motion_artifact", spec)
        diff = moving.signals - still.signals
        spans = {}
        for event, a, b, label in moving.events:
            if event == "artifact":
                spans.setdefault((round(a, 6), round(b, 6)), set()).add(label)
        assert len(spans) >= 2
        assert all(found == {"ecg", "ppg", "rsp", "eda", "emg"} for found in spans.values())
        first = int(min(a for a, _ in spans) * FS)
        assert np.abs(diff[:, :first]).max() < 1e-9
        noise = [subject.ecg_noise_mv, subject.ppg_noise_au, subject.rsp_noise_l,
                 subject.eda_noise_us, subject.emg_noise_mv]
        for a, b in spans:
            part = np.abs(diff[:, int(a * FS):int(b * FS)]).max(axis=1)
            assert (part > 3 * np.array(noise)).all(), (seed, a, part)
        bursts = {(round(a, 6), round(b, 6)) for event, a, b, _ in moving.events
                  if event == "emg_burst"}
        assert set(spans) <= bursts


def test_flutter_waves_are_a_rounded_sawtooth_with_plausible_conduction() -> None:
    """F waves: the slow limb takes 60-75 % of the cycle, the fast one the rest (no steep
    edge); fixed 3:1 conduction is rare, 2:1 the rule."""
    fs = 500
    t = np.arange(0, 4, 1 / fs)
    cycle = 0.2
    onsets = np.arange(0, 4, cycle)
    for descent in (0.6, 0.75):
        f = waveforms.flutter_waves(t, onsets, 1.0, descent, fs)
        slope = np.abs(np.diff(f)) * fs
        assert 0.7 < np.ptp(f[fs:3 * fs]) <= 1.0  # the corners are rounded
        # the fastest edge is no steeper than a linear rise over the fast limb (+ 10 %)
        assert slope.max() <= 1.1 / ((1 - descent) * cycle)
        rising = (np.diff(f[fs:3 * fs]) > 0).mean()  # the fast limb's share (rounded)
        assert rising == pytest.approx(1 - descent, abs=0.1) and rising < 0.45
    from physio_bench.simulate.classes import SCENARIO_CLASSES
    from physio_bench.simulate.physiology import draw_subject as subject_of
    from physio_bench.simulate.scenarios import window_parameters

    rng = np.random.default_rng(3)
    draws = [window_parameters(SCENARIO_CLASSES["atrial_flutter"], "steady", subject_of(1),
                               rng, 32.0) for _ in range(1000)]
    fixed = [d["flutter_ratio"] for d in draws if not d["flutter_variable"]]
    assert np.mean(np.array(fixed) == 3) < 0.1 and np.mean(np.array(fixed) == 2) > 0.5


def test_premature_atrial_p_waves_are_visible() -> None:
    """The P' of a PAC is at least half the sinus P (and 0.05 mV) in every subject,
    upright or inverted; rendered, it adds a clear bump before the early QRS."""
    signs = []
    for seed in range(300):
        ecg = draw_subject(seed).ecg
        assert abs(ecg.pac_p_mv) >= 0.5 * min(abs(ecg.p_mv), 0.1) and abs(ecg.pac_p_mv) >= 0.05
        signs.append(np.sign(ecg.pac_p_mv))
    assert 0.15 < np.mean(np.array(signs) < 0) < 0.45
    fs = 500
    subject = draw_subject(12)
    morph = subject.ecg
    r = np.array([1.0, 2.0, 2.6, 3.8])
    p = r - morph.qrs_s / 2 - np.array([morph.pr_s, morph.pr_s, morph.pac_pr_s, morph.pr_s])
    kinds = np.array(["sinus", "sinus", "ectopic", "sinus"])
    beats = rhythm.Beats(r_s=r, classes=np.array(["N", "N", "S", "N"]), p_onsets_s=p,
                         p_kind=kinds)
    n = 5 * fs
    with_p = waveforms.render_ecg(0.0, fs, n, beats, morph, np.zeros(n), 1.0,
                                  np.random.default_rng(0))
    no_pac = rhythm.Beats(r_s=r, classes=beats.classes, p_onsets_s=p[kinds != "ectopic"],
                          p_kind=kinds[kinds != "ectopic"])
    without = waveforms.render_ecg(0.0, fs, n, no_pac, morph, np.zeros(n), 1.0,
                                   np.random.default_rng(0))
    assert np.abs(with_p - without).max() >= 0.05


def test_ecg_morphology_varies_across_subjects(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """Lead (MLII, II, V1, aVR), frontal axis (-30..90), QRS width and T polarity vary by
    subject: aVR records a negative QRS and T, lead II mostly an upright T, V1 an rS
    complex; the scenario labels record the subject's factors."""
    subjects = [draw_subject(seed).ecg for seed in range(400)]
    leads = pd.Series([e.lead for e in subjects])
    assert set(leads) == {"MLII", "II", "V1", "aVR"}
    assert (leads.value_counts(normalize=True) > 0.12).all()
    axes = np.array([e.axis_deg for e in subjects])
    assert axes.min() < 0 and axes.max() > 75
    widths = np.array([e.qrs_s for e in subjects])
    assert widths.min() < 0.075 and widths.max() > 0.1
    for e in subjects:
        if e.lead == "aVR":
            assert abs(e.s_mv) > abs(e.r_mv) and e.p_mv < 0
        if e.lead == "V1":
            assert abs(e.s_mv) > abs(e.r_mv) and e.p_terminal_mv < 0
    inverted_avr = [e.t_mv < 0 for e in subjects if e.lead == "aVR"]
    assert 0.75 < np.mean(inverted_avr) < 1.0  # upright only where the T axis is turned
    upright = [e.t_mv > 0 for e in subjects if e.lead in ("II", "MLII")]
    assert 0.75 < np.mean(upright) < 1.0
    v1_t = [e.t_mv > 0 for e in subjects if e.lead == "V1"]
    assert 0.2 < np.mean(v1_t) < 0.8
    s, _ = rhythms
    per_subject = s.labels.groupby("subject_id")[
        ["ecg_lead", "ecg_axis_deg", "qrs_width_s", "t_wave_polarity_sign"]].nunique()
    assert (per_subject == 1).all().all()
    assert set(s.labels["t_wave_polarity_sign"]) <= {-1.0, 1.0}


def test_skin_conductance_level_rises_under_stress(rhythms: tuple[Any, pd.DataFrame]) -> None:
    """Arousal raises the tonic level (by 1-3 uS, rising through the window), not only
    the number of responses: per subject, the label and the stored EDA's lower envelope."""
    s, _ = rhythms
    normal, stress = _pairs(s, "stress_arousal", "eda_tonic_us")
    assert ((stress - normal) > 0.8).all()
    low = {name: [float(np.percentile(s.signals[i, 3], 5))
                  for i in s.labels.sort_values("subject_id").index[
                      s.labels.sort_values("subject_id")["scenario"] == name]]
           for name in ("normal_sinus", "stress_arousal")}
    assert (np.array(low["stress_arousal"]) > np.array(low["normal_sinus"])).all()
