// shift-point
pub fn check_email(email: &str) -> String {
    // shift-point
    let valid = email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    if !valid {
        // shift-point
        panic!("invalid email address {email:?}");
    }
    email.to_lowercase()
}
