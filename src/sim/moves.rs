//! Reps who changed teams: every fifteenth rep in seat since before the
//! data began worked in another team of the same region until the middle
//! of the data. reps.csv holds where they are now, `org_history.csv` when
//! they moved, and their bookings before the move name the old territory.

use chrono::NaiveDate;

use super::{SimOrg, add_days, month_start};

/// One dated place of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMove {
    /// Who.
    pub rep_id: String,
    /// From this day on.
    pub from: NaiveDate,
    /// Their manager.
    pub manager_id: String,
    /// Their territory.
    pub territory_id: String,
}

/// Records the moves and restates the movers' earlier bookings.
pub fn move_reps(org: &mut SimOrg, start: NaiveDate, months: u32) {
    let day = add_days(month_start(start, months / 2), 9);
    // Each team's manager, territory and region, in generation order.
    let teams: Vec<(String, String, String)> = org
        .people
        .iter()
        .filter(|p| p.role == "manager")
        .filter_map(|m| {
            let t = m.territory_id.clone()?;
            let region = org.territories.iter().find(|x| x.id == t)?.region.clone();
            Some((m.id.clone(), t, region))
        })
        .collect();
    let movers: Vec<(String, NaiveDate, usize, usize)> = org
        .people
        .iter()
        .filter(|p| p.role == "rep" && !p.is_overlay())
        .enumerate()
        .filter(|(i, p)| i % 15 == 7 && p.hire_date < start && p.end_date.is_none())
        .filter_map(|(_, p)| {
            let now = teams
                .iter()
                .position(|t| Some(&t.0) == p.manager_id.as_ref())?;
            // The next team of the same region, going round.
            let before = (1..teams.len())
                .map(|k| (now + k) % teams.len())
                .find(|&j| teams[j].2 == teams[now].2)?;
            Some((p.id.clone(), p.hire_date, now, before))
        })
        .collect();
    for (rep, hired, now, before) in movers {
        for b in org
            .bookings
            .iter_mut()
            .filter(|b| b.rep_id == rep && b.date < day)
        {
            b.territory_id = teams[before].1.clone();
        }
        for (from, team) in [(hired, before), (day, now)] {
            org.org_history.push(SimMove {
                rep_id: rep.clone(),
                from,
                manager_id: teams[team].0.clone(),
                territory_id: teams[team].1.clone(),
            });
        }
    }
}
